//! `avrs serve`: build the effective configuration (file, then flags) and
//! run a node. With no `--config` the built-in defaults describe an embedded
//! single-node cluster.

use anyhow::{Context, Result};
use avrs_config::{Config, ConfigOverrides};
use avrs_node::{Node, NodeOptions};
use std::io::IsTerminal;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// Flags of `avrs serve`.
#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// INI file with an [avrs] section; without it, built-in defaults
    /// (embedded single-node cluster).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check the configuration, print it, and exit without starting the node.
    #[arg(long)]
    pub check: bool,
    /// Gossip (cluster membership) UDP address, IP:PORT; turns the
    /// cluster on like a [cluster] section (key [cluster] gossip_address).
    #[arg(long, value_name = "ADDR")]
    pub gossip: Option<String>,
    /// Boxed: the flags are many strings, and `Command` holds `ServeArgs`
    /// inline next to much smaller variants.
    #[command(flatten)]
    pub flags: Box<ConfigFlags>,
}

/// Flags that override config keys. Each is checked with the same rules as
/// its key, and an error names the flag.
#[derive(Debug, Default, clap::Args)]
pub struct ConfigFlags {
    /// Directory for keys, metadata and recordings (key data_dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<String>,
    /// RTMP listen address, IP:PORT (key rtmp_address).
    #[arg(long = "rtmp", value_name = "ADDR")]
    pub rtmp: Option<String>,
    /// HTTP listen address, IP:PORT (key http_address).
    #[arg(long = "http", value_name = "ADDR")]
    pub http: Option<String>,
    /// QUIC listen address, IP:PORT (key quic_address).
    #[arg(long = "quic", value_name = "ADDR")]
    pub quic: Option<String>,
    /// Roles, e.g. "host,server" or a mask such as 0x0102 (key role).
    #[arg(long, value_name = "ROLES")]
    pub role: Option<String>,
    /// Cluster name or GUUID (key cluster_id).
    #[arg(long, value_name = "ID")]
    pub cluster_id: Option<String>,
    /// The cluster host, HOST:PORT (key host_address).
    #[arg(long, value_name = "HOST:PORT")]
    pub host_address: Option<String>,
    /// The balancer, HOST:PORT (key balancer_address).
    #[arg(long, value_name = "HOST:PORT")]
    pub balancer_address: Option<String>,
    /// Most client connections at once (key max_connections).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<String>,
    /// Liveness announcement interval, e.g. 30s or 500ms (key heartbeat_interval).
    #[arg(long, value_name = "DUR")]
    pub heartbeat_interval: Option<String>,
    /// Wait before reconnecting to a lost peer, e.g. 60s (key reconnect_timeout).
    #[arg(long, value_name = "DUR")]
    pub reconnect_timeout: Option<String>,
    /// RTMP viewers' write merging window, e.g. 20ms (key rtmp_write_coalesce).
    #[arg(long, value_name = "DUR")]
    pub rtmp_write_coalesce: Option<String>,
    /// Largest QUIC datagram native AVRS sends, bytes, e.g. 8952 (key quic_max_mtu).
    #[arg(long, value_name = "BYTES")]
    pub quic_max_mtu: Option<String>,
    /// HTTPS listen address, IP:PORT (key https_address; needs --tls-cert).
    #[arg(long = "https", value_name = "ADDR")]
    pub https: Option<String>,
    /// RTMPS listen address, IP:PORT (key rtmps_address; needs --tls-cert).
    #[arg(long = "rtmps", value_name = "ADDR")]
    pub rtmps: Option<String>,
    /// X.509 certificate chain, PEM, for HTTPS, RTMPS and QUIC (key tls_certificate_file).
    #[arg(long = "tls-cert", value_name = "FILE")]
    pub tls_cert: Option<String>,
    /// Its private key, PEM, mode 0600 (key tls_private_key_file).
    #[arg(long = "tls-key", value_name = "FILE")]
    pub tls_key: Option<String>,
    /// Extended (debug-level) logging (key debug_more).
    #[arg(long)]
    pub debug: bool,
}

impl ConfigFlags {
    /// The flags as config overrides; a flag not given overrides nothing.
    pub fn overrides(&self) -> ConfigOverrides {
        ConfigOverrides {
            data_dir: self.data_dir.clone(),
            rtmp_address: self.rtmp.clone(),
            http_address: self.http.clone(),
            quic_address: self.quic.clone(),
            role: self.role.clone(),
            cluster_id: self.cluster_id.clone(),
            host_address: self.host_address.clone(),
            balancer_address: self.balancer_address.clone(),
            max_connections: self.max_connections.clone(),
            heartbeat_interval: self.heartbeat_interval.clone(),
            reconnect_timeout: self.reconnect_timeout.clone(),
            rtmp_write_coalesce: self.rtmp_write_coalesce.clone(),
            quic_max_mtu: self.quic_max_mtu.clone(),
            https_address: self.https.clone(),
            rtmps_address: self.rtmps.clone(),
            tls_certificate_file: self.tls_cert.clone(),
            tls_private_key_file: self.tls_key.clone(),
            // Without --debug the file decides; the switch only turns it on.
            debug_more: self.debug.then_some(true),
            ..ConfigOverrides::default()
        }
    }
}

/// The configuration a node would run with: the `--config` file (or the
/// built-in defaults), then the flags.
pub fn effective_config(args: &ServeArgs) -> Result<Config> {
    let base = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    Ok(base.with_overrides(&args.flags.overrides())?)
}

/// With `--check`, prints the effective configuration and stops. Otherwise
/// runs the node until Ctrl-C or SIGTERM, then shuts it down cleanly.
pub fn run(args: ServeArgs) -> Result<()> {
    let config = effective_config(&args)?;
    // [vod] and [record.NAME] are checked before anything starts.
    let vod = avrs_vod::VodConfig::from_config(&config)?;
    // So are [auth] and [policy.NAME]; a config file makes publishing
    // need a token (or the stream key) unless [auth] publish opens it.
    let auth = avrs_auth::AuthConfig::from_config(&config, args.config.is_some())?;
    // And the TLS certificate and key (mode, PEM, key matches).
    let tls = avrs_node::tls::TlsIdentity::from_config(&config)?.map(std::sync::Arc::new);
    let cluster = crate::cluster::options(&config, args.gossip.as_deref())?;
    init_logging(config.debug_more);
    if args.check {
        print!("{}", describe(&args, &config));
        tracing::info!("configuration is valid");
        return Ok(());
    }
    let cpus = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.worker_threads(cpus))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve_until_stopped(config, vod, auth, tls, cluster))
}

async fn serve_until_stopped(
    config: Config,
    vod: avrs_vod::VodConfig,
    auth: avrs_auth::AuthConfig,
    tls: Option<std::sync::Arc<avrs_node::tls::TlsIdentity>>,
    cluster: Option<avrs_node::cluster::ClusterOptions>,
) -> Result<()> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let stream_key = crate::stream_key::load_or_create(&config.data_dir)?;
    let mut options = NodeOptions::from_config(&config);
    options.tls = tls;
    // Kept so native players' first-contact pins hold across restarts.
    options.native_certificate_dir = Some(config.data_dir.join("native-tls"));
    options.publish_policy.stream_key = Some(stream_key.clone());
    let authorizer = avrs_auth::Authorizer::load(&auth, Some(stream_key.clone()))
        .context("cannot set up authentication ([auth] section)")?;
    options.authorizer = Some(std::sync::Arc::new(authorizer));
    let node_key =
        crate::node_key::load_or_create(config.private_key_file.as_deref(), &config.data_dir)?;
    options.content_key = Some(node_key.clone());
    options.cluster = cluster;
    options.vod = Some(crate::vod::open_for_node(&config.data_dir, vod).await?);
    // Watched before the first line goes out: whoever reads it may send
    // SIGTERM at once, and must get a clean shutdown, not the default kill.
    let stop = StopSignals::watch()?;
    let node = Node::start(options).await?;
    print!("{}", announce(&node, &stream_key));
    if let Some(line) = announce_secure(&node) {
        println!("{line}");
    }
    println!("content signed by node id {}", hex::encode(node_key.id().0));
    // What `avrs play` pins at first contact (or takes as --pin): tests
    // and operators read this line.
    println!("native certificate {}", node.quic_certificate);
    if let Some(gossip) = node.gossip_address {
        // Tests and scripts read this line: the member id and where it gossips.
        println!(
            "avrs cluster: gossip {gossip} member {}",
            node_key.id().to_hex()
        );
    }
    let _ = std::io::Write::flush(&mut std::io::stdout());
    tracing::info!(
        rtmp = %node.rtmp_address,
        http = %node.http_address,
        roles = %config.roles,
        cluster = %config.cluster_id,
        "node started"
    );
    stop.wait().await;
    tracing::info!("stopping: closing listeners and connections");
    node.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// The lines a newcomer needs: where to publish and where to watch. Tests
/// read the bound addresses from the `listening` lines.
fn announce(node: &Node, stream_key: &str) -> String {
    let rtmp = shown(node.rtmp_address);
    let http = shown(node.http_address);
    let quic = shown(node.quic_address);
    let rtmp_port = node.rtmp_address.port();
    format!(
        "avrs listening: rtmp {} http {} quic {}\n\
         publish: ffmpeg -re -i INPUT -c:v libx264 -c:a aac -f flv rtmp://{rtmp}/live/NAME\n\
         from another host: rtmp://THIS_HOST:{rtmp_port}/live/NAME?key={stream_key}\n\
         watch:   http://{http}/live/NAME.flv   http://{http}/live/NAME/index.m3u8   rtmp://{rtmp}/live/NAME\n\
         native:  avrs play avrs://{quic}/live/NAME --out NAME.flv\n\
         streams: http://{http}/api/streams   metrics: http://{http}/metrics\n",
        node.rtmp_address, node.http_address, node.quic_address,
    )
}

/// "avrs secure: https ADDR rtmps ADDR" (`-` for one that is off), when
/// the node has TLS listeners. Tests read the bound addresses from it.
fn announce_secure(node: &Node) -> Option<String> {
    if node.https_address.is_none() && node.rtmps_address.is_none() {
        return None;
    }
    let text = |a: Option<SocketAddr>| a.map_or("-".to_owned(), |a| shown(a).to_string());
    Some(format!(
        "avrs secure: https {} rtmps {}",
        text(node.https_address),
        text(node.rtmps_address)
    ))
}

/// An address a local client can use: a wildcard bind shows as loopback.
fn shown(address: SocketAddr) -> SocketAddr {
    let mut shown = address;
    if address.ip().is_unspecified() {
        shown.set_ip(if address.is_ipv4() {
            Ipv4Addr::LOCALHOST.into()
        } else {
            Ipv6Addr::LOCALHOST.into()
        });
    }
    shown
}

/// Ctrl-C (SIGINT) and SIGTERM, watched from [`StopSignals::watch`] on.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn watch() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("cannot watch Ctrl-C")?,
            terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// The effective configuration as INI text that `--config` reads back,
/// headed by a comment that says where it came from.
fn describe(args: &ServeArgs, config: &Config) -> String {
    let source = match &args.config {
        // Debug form: a path with a newline must not break the INI text.
        Some(path) => format!("file {path:?}"),
        None => "built-in defaults".to_owned(),
    };
    format!(
        "# avrs effective configuration: {source}, then command-line flags\n{}",
        config.to_ini()
    )
}

/// Logs go to stderr. The level is info, or debug with `--debug` /
/// `debug_more`; `RUST_LOG`, when set, takes precedence.
fn init_logging(debug_more: bool) {
    let level = if debug_more {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    // Fails only if a subscriber is already set (e.g. by an embedding test).
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .try_init();
}
