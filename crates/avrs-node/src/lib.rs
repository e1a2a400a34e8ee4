//! The AVRS node runtime: binds the listeners, runs one task per
//! connection, and shares one [`NodeContext`] between them. Protocol logic
//! lives in the sans-IO crates; this crate moves bytes and time.
//!
//! Embedding: build a [`NodeOptions`], call [`Node::start`], read the bound
//! addresses, and call [`Node::shutdown`] when done.

pub mod auth;
pub mod cluster;
pub mod context;
pub mod hls;
pub mod http;
pub mod native;
pub mod record;
pub mod rtmp;
pub mod tls;

pub use context::{NodeContext, NodeMetrics, PublishPolicy};

use avrs_core::live::ContentLimits;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What a node listens on and how it bounds its work.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    pub rtmp_address: SocketAddr,
    pub http_address: SocketAddr,
    /// UDP address of the native AVRS (QUIC) listener.
    pub quic_address: SocketAddr,
    pub limits: ContentLimits,
    pub reconnect_timeout: Duration,
    /// Upper bound on simultaneous connections of each listener.
    pub max_connections: usize,
    /// Largest QUIC datagram (UDP payload) native AVRS sends
    /// (`quic_max_mtu`); path MTU discovery finds what each path carries.
    pub quic_max_mtu: u16,
    /// Names this node in content ids.
    pub node_net_id: u64,
    /// Who may publish (loopback always; others with the stream key).
    pub publish_policy: PublishPolicy,
    /// RTMP timeouts and write behaviour.
    pub rtmp: rtmp::RtmpSettings,
    /// The VoD library (HTTP `/api/vod`, `/vod/…`, recording); `None`: no VoD.
    pub vod: Option<Arc<avrs_vod::Library>>,
    /// The key that signs ingested content; `None`: a key made at start
    /// that lives as long as the process.
    pub content_key: Option<Arc<avrs_crypto::SigningKey>>,
    /// Who may publish and watch; `None`: the embedded rules from
    /// `publish_policy` (loopback open, others the stream key).
    pub authorizer: Option<Arc<avrs_auth::Authorizer>>,
    /// Cluster membership, relays and balancing; `None`: a lone node.
    pub cluster: Option<cluster::ClusterOptions>,
    /// The X.509 certificate and key of HTTPS, RTMPS and QUIC; `None`: no
    /// HTTPS or RTMPS, and QUIC presents a self-signed certificate.
    pub tls: Option<Arc<tls::TlsIdentity>>,
    /// HTTPS listener; needs `tls`. `None`: no HTTPS.
    pub https_address: Option<SocketAddr>,
    /// RTMPS listener; needs `tls`. `None`: no RTMPS.
    pub rtmps_address: Option<SocketAddr>,
    /// Without `tls`: where QUIC's self-signed certificate is kept, made
    /// at the first start, so players' pins hold across restarts
    /// (`DATA_DIR/native-tls`). `None`: a new one each start.
    pub native_certificate_dir: Option<std::path::PathBuf>,
}

impl NodeOptions {
    /// Everything on 127.0.0.1 with ports chosen by the system: for tests.
    pub fn loopback_ephemeral() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            rtmp_address: any,
            http_address: any,
            quic_address: any,
            limits: ContentLimits::default(),
            reconnect_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            quic_max_mtu: native::tls::DEFAULT_MAX_MTU,
            node_net_id: 1,
            publish_policy: PublishPolicy::default(),
            rtmp: rtmp::RtmpSettings::default(),
            content_key: None,
            authorizer: None,
            vod: None,
            cluster: None,
            tls: None,
            https_address: None,
            rtmps_address: None,
            native_certificate_dir: None,
        }
    }

    /// The options a configuration file (or the embedded default) asks for.
    /// TLS files are read by the caller ([`tls::TlsIdentity::from_config`])
    /// into `tls`; the HTTPS and RTMPS addresses are set here.
    pub fn from_config(config: &avrs_config::Config) -> Self {
        Self {
            rtmp_address: config.rtmp_address,
            http_address: config.http_address,
            quic_address: config.quic_address,
            limits: ContentLimits::default(),
            reconnect_timeout: config.reconnect_timeout,
            max_connections: config.max_connections as usize,
            quic_max_mtu: config.quic_max_mtu,
            node_net_id: 1,
            publish_policy: PublishPolicy::default(),
            rtmp: rtmp::RtmpSettings {
                write_coalesce: config.rtmp_write_coalesce,
                ..rtmp::RtmpSettings::default()
            },
            content_key: None,
            authorizer: None,
            vod: None,
            cluster: None,
            tls: None,
            https_address: config.https_listen(),
            rtmps_address: config.rtmps_listen(),
            native_certificate_dir: None,
        }
    }
}

/// A running node.
#[derive(Debug)]
pub struct Node {
    pub context: Arc<NodeContext>,
    pub rtmp_address: SocketAddr,
    pub http_address: SocketAddr,
    pub quic_address: SocketAddr,
    /// The SHA-256 of the QUIC certificate: what native players pin.
    pub quic_certificate: native::tls::Fingerprint,
    /// The gossip socket, when in a cluster.
    pub gossip_address: Option<SocketAddr>,
    /// Bound HTTPS address, when the node serves HTTPS.
    pub https_address: Option<SocketAddr>,
    /// Bound RTMPS address, when the node serves RTMPS.
    pub rtmps_address: Option<SocketAddr>,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
}

impl Node {
    /// Binds every listener (failing fast with the address that could not be
    /// bound) and starts serving.
    pub async fn start(options: NodeOptions) -> anyhow::Result<Self> {
        let content_key = match &options.content_key {
            Some(key) => key.clone(),
            None => Arc::new(context::ephemeral_key()),
        };
        let context = NodeContext::with_policy_and_key(
            options.limits,
            options.reconnect_timeout,
            options.node_net_id,
            options.publish_policy.clone(),
            content_key,
        );
        let context = match &options.authorizer {
            Some(authorizer) => context.with_authorizer(authorizer.clone()),
            None => context,
        };
        if let Some(identity) = &options.tls {
            let _ = context.tls.set(identity.clone());
        }
        let secure = tls::SecureListeners::bind(&options).await?;
        let rtmp = bind(options.rtmp_address, "RTMP").await?;
        let http = bind(options.http_address, "HTTP").await?;
        let rtmp_address = rtmp.local_addr()?;
        let http_address = http.local_addr()?;
        let shutdown = CancellationToken::new();
        let (quic_address, quic_certificate, native) = native::bind(
            options.quic_address,
            context.clone(),
            options.max_connections,
            options.quic_max_mtu,
            options.native_certificate_dir.as_deref(),
            shutdown.clone(),
        )
        .await?;
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let _ = native.await;
        });
        tasks.spawn(rtmp::serve_with(
            rtmp,
            context.clone(),
            options.max_connections,
            options.rtmp.clone(),
            shutdown.clone(),
        ));
        tasks.spawn(http::serve(http, context.clone(), shutdown.clone()));
        let (https_address, rtmps_address) =
            secure.spawn(&options, &context, &shutdown, &mut tasks)?;
        tasks.spawn(hls::run(context.clone(), shutdown.clone()));
        if let Some(library) = options.vod.clone() {
            let state = Arc::new(record::VodState::new(library, shutdown.clone()));
            let _ = context.vod.set(state.clone());
            tasks.spawn(record::run(context.clone(), state, shutdown.clone()));
        }
        let mut gossip_address = None;
        if let Some(cluster_options) = options.cluster.clone() {
            let addrs = cluster::SocketAddrs {
                http: http_address,
                quic: quic_address,
                rtmp: rtmp_address,
                max_connections: u32::try_from(options.max_connections).unwrap_or(u32::MAX),
            };
            let key = context.content_key.clone();
            let (cluster, task) = cluster::start(
                context.clone(),
                cluster_options,
                key,
                addrs,
                shutdown.clone(),
            )
            .await?;
            gossip_address = Some(cluster.gossip_address);
            let _ = context.cluster.set(cluster);
            tasks.spawn(async move {
                let _ = task.await;
            });
        }
        tasks.spawn(reap_contents(context.clone(), shutdown.clone()));
        tasks.spawn(auth::reload_revocations(context.clone(), shutdown.clone()));
        Ok(Self {
            context,
            rtmp_address,
            http_address,
            quic_address,
            quic_certificate,
            gossip_address,
            https_address,
            rtmps_address,
            shutdown,
            tasks,
        })
    }

    /// Stops accepting, closes every connection, and waits for the tasks.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }

    /// A token that stops the node when cancelled (for signal handlers).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

pub(crate) async fn bind(address: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for {what} on {address}: {e}"))
}

/// Ends contents whose publisher did not come back in time.
async fn reap_contents(context: Arc<NodeContext>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                for name in context.registry.reap(std::time::Instant::now()) {
                    tracing::info!(stream = %name, "stream ended: publisher did not return in time");
                }
            }
        }
    }
}
