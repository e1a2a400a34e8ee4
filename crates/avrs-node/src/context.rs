//! What every connection handler of a node shares.

use avrs_core::live::{ContentLimits, ContentRegistry};
use avrs_crypto::{Algorithm, SigningKey};
use avrs_proto::Guuid;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Node-wide counters (per-stream ones live in each content's stats).
#[derive(Debug, Default)]
pub struct NodeMetrics {
    pub rtmp_connections: AtomicU64,
    pub http_connections: AtomicU64,
    pub rtmp_errors: AtomicU64,
    pub publish_refused: AtomicU64,
    /// Native (QUIC) connections past the handshake, open now.
    pub native_connections: AtomicU64,
}

/// Who may publish. Loopback addresses (and `open_to`) always may; any
/// other address must name the node's stream key in the query string
/// (`rtmp://HOST/live/NAME?key=KEY`). Tokens come with the secure-sessions
/// work.
#[derive(Clone, Default)]
pub struct PublishPolicy {
    /// Extra addresses allowed to publish without a credential.
    pub open_to: Vec<IpAddr>,
    /// The key remote publishers must present; `None`: remote publishing
    /// is closed.
    pub stream_key: Option<String>,
}

impl std::fmt::Debug for PublishPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key itself.
        f.debug_struct("PublishPolicy")
            .field("open_to", &self.open_to)
            .field("stream_key", &self.stream_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl PublishPolicy {
    /// `Ok` when `peer` may publish `name` with this query string; `Err`
    /// says why not, for the client and the log.
    pub fn check(&self, peer: SocketAddr, name: &str, query: Option<&str>) -> Result<(), String> {
        let ip = peer.ip();
        let loopback = ip.is_loopback()
            || matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()));
        if loopback || self.open_to.contains(&ip) {
            return Ok(());
        }
        let offered = query.and_then(|q| query_value(q, "key"));
        match (&self.stream_key, offered) {
            (Some(key), Some(offered)) if same_secret(key.as_bytes(), offered.as_bytes()) => Ok(()),
            (Some(_), Some(_)) => Err(format!("publishing '{name}' from {ip}: wrong stream key")),
            (Some(_), None) => Err(format!(
                "publishing '{name}' from {ip} needs the stream key: add ?key=KEY to the stream name"
            )),
            (None, _) => Err(format!(
                "publishing '{name}' from {ip} needs a stream key or token; this node accepts publishers from loopback only"
            )),
        }
    }
}

/// The value of `name` in a `a=1&b=2` query string (no percent-decoding:
/// keys are hex).
fn query_value<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Compares secrets in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Shared state of a running node.
#[derive(Debug)]
pub struct NodeContext {
    pub registry: Arc<ContentRegistry>,
    pub metrics: NodeMetrics,
    pub publish_policy: PublishPolicy,
    /// LL-HLS state of every packaged content.
    pub hls: crate::hls::HlsStreams,
    /// The VoD library and running recordings, when the node has one.
    pub vod: std::sync::OnceLock<Arc<crate::record::VodState>>,
    /// The configured X.509 certificate and key (HTTPS, RTMPS, and the
    /// certificate QUIC presents); unset: QUIC makes a self-signed one.
    pub tls: std::sync::OnceLock<Arc<crate::tls::TlsIdentity>>,
    /// Signs every frame this node ingests (once per frame, cached on the
    /// frame); native viewers and relays check it.
    pub content_key: Arc<SigningKey>,
    /// The keys of ENCRYPTED contents (`[auth] encrypt`), one per content.
    pub content_keys: crate::native::content_keys::ContentKeys,
    /// Who may publish, watch and administer: tokens, stream key,
    /// policies, revocation, audit (see `docs/security.md`).
    pub authorizer: Arc<avrs_auth::Authorizer>,
    /// The cluster driver, when the node is in a cluster.
    pub cluster: std::sync::OnceLock<Arc<crate::cluster::Cluster>>,
    /// Native sessions and their figures (`GET /api/admin/sessions`).
    pub native_sessions: Arc<crate::native::sessions::SessionTable>,
}

impl NodeContext {
    pub fn new(limits: ContentLimits, reconnect_timeout: Duration, node_net_id: u64) -> Arc<Self> {
        Self::with_policy(
            limits,
            reconnect_timeout,
            node_net_id,
            PublishPolicy::default(),
        )
    }

    /// [`NodeContext::new`] with who may publish.
    pub fn with_policy(
        limits: ContentLimits,
        reconnect_timeout: Duration,
        node_net_id: u64,
        publish_policy: PublishPolicy,
    ) -> Arc<Self> {
        Self::with_policy_and_key(
            limits,
            reconnect_timeout,
            node_net_id,
            publish_policy,
            Arc::new(ephemeral_key()),
        )
    }

    /// [`NodeContext::with_policy`] with the key that signs content.
    pub fn with_policy_and_key(
        limits: ContentLimits,
        reconnect_timeout: Duration,
        node_net_id: u64,
        publish_policy: PublishPolicy,
        content_key: Arc<SigningKey>,
    ) -> Arc<Self> {
        let counter = AtomicU64::new(random_start());
        let registry = ContentRegistry::new(limits, reconnect_timeout, move || {
            Guuid::new(node_net_id, counter.fetch_add(1, Ordering::Relaxed))
        });
        // Without a configured authorizer: the embedded rules, from the
        // publish policy (loopback open, others the stream key).
        let authorizer = Arc::new(avrs_auth::Authorizer::embedded(
            publish_policy.open_to.clone(),
            publish_policy.stream_key.clone(),
        ));
        Arc::new(Self {
            registry: Arc::new(registry),
            metrics: NodeMetrics::default(),
            authorizer,
            publish_policy,
            hls: crate::hls::HlsStreams::default(),
            vod: std::sync::OnceLock::new(),
            tls: std::sync::OnceLock::new(),
            content_key,
            content_keys: Default::default(),
            cluster: std::sync::OnceLock::new(),
            native_sessions: Arc::default(),
        })
    }
}

impl NodeContext {
    /// Puts a configured authorizer in place of the embedded one. Only
    /// before the context is shared (returns it unchanged otherwise).
    pub fn with_authorizer(
        mut self: Arc<Self>,
        authorizer: Arc<avrs_auth::Authorizer>,
    ) -> Arc<Self> {
        if let Some(context) = Arc::get_mut(&mut self) {
            context.authorizer = authorizer;
        }
        self
    }
}

/// A key for a node started without one (tests, embedding): content is
/// still signed, by a key that lives as long as the process.
pub fn ephemeral_key() -> SigningKey {
    SigningKey::generate(Algorithm::Ed25519).expect("the system random generator works")
}

/// A starting point for content ids that differs between runs, so ids of a
/// restarted node do not repeat old ones. Not a secret.
fn random_start() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish() & 0x0000_FFFF_FFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn without_credentials_only_loopback_may_publish() {
        let policy = PublishPolicy::default();
        let check = |p: &str, q| policy.check(peer(p), "live/a", q);
        assert!(check("127.0.0.1:5000", None).is_ok());
        assert!(check("127.8.9.10:5000", None).is_ok());
        assert!(check("[::1]:5000", None).is_ok());
        assert!(check("[::ffff:127.0.0.1]:5000", None).is_ok());
        let refused = check("10.1.2.3:5000", None).unwrap_err();
        assert!(refused.contains("needs a stream key or token"), "{refused}");
        assert!(refused.contains("10.1.2.3"), "{refused}");
        assert!(check("[2001:db8::1]:5000", None).is_err());
        // With no key configured, no query opens it.
        assert!(check("10.1.2.3:5000", Some("key=")).is_err());
    }

    #[test]
    fn listed_addresses_may_publish_too() {
        let policy = PublishPolicy {
            open_to: vec!["10.1.2.3".parse().unwrap()],
            stream_key: None,
        };
        assert!(policy.check(peer("10.1.2.3:1"), "live/a", None).is_ok());
        assert!(policy.check(peer("10.1.2.4:1"), "live/a", None).is_err());
    }

    #[test]
    fn remote_publishers_need_the_stream_key() {
        let policy = PublishPolicy {
            open_to: vec![],
            stream_key: Some("c0ffee".into()),
        };
        let check = |q| policy.check(peer("10.1.2.3:1"), "live/a", q);
        assert!(check(Some("key=c0ffee")).is_ok());
        assert!(check(Some("x=1&key=c0ffee")).is_ok());
        let wrong = check(Some("key=c0ffef")).unwrap_err();
        assert!(wrong.contains("wrong stream key"), "{wrong}");
        assert!(check(Some("key=c0ffee0")).is_err());
        assert!(check(Some("KEY=c0ffee")).is_err());
        let missing = check(None).unwrap_err();
        assert!(missing.contains("?key=KEY"), "{missing}");
        assert!(policy.check(peer("127.0.0.1:1"), "live/a", None).is_ok());
        assert!(
            !format!("{policy:?}").contains("c0ffee"),
            "Debug hides the key"
        );
    }
}
