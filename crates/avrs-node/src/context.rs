//! What every connection handler of a node shares.

use avrs_core::live::{ContentLimits, ContentRegistry};
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
}

/// Who may publish. Without a configured credential, only loopback
/// addresses may (the secure-sessions work adds tokens and stream keys).
#[derive(Debug, Clone, Default)]
pub struct PublishPolicy {
    /// Extra addresses allowed to publish without a credential.
    pub open_to: Vec<IpAddr>,
}

impl PublishPolicy {
    /// `Ok` when `peer` may publish `name`; `Err` says why not, for the
    /// client and the log.
    pub fn check(&self, peer: SocketAddr, name: &str) -> Result<(), String> {
        let ip = peer.ip();
        let loopback = ip.is_loopback()
            || matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()));
        if loopback || self.open_to.contains(&ip) {
            Ok(())
        } else {
            Err(format!(
                "publishing '{name}' from {ip} needs a stream key or token; without one only loopback may publish"
            ))
        }
    }
}

/// Shared state of a running node.
#[derive(Debug)]
pub struct NodeContext {
    pub registry: Arc<ContentRegistry>,
    pub metrics: NodeMetrics,
    pub publish_policy: PublishPolicy,
    /// LL-HLS state of every packaged content.
    pub hls: crate::hls::HlsStreams,
}

impl NodeContext {
    pub fn new(limits: ContentLimits, reconnect_timeout: Duration, node_net_id: u64) -> Arc<Self> {
        let counter = AtomicU64::new(random_start());
        let registry = ContentRegistry::new(limits, reconnect_timeout, move || {
            Guuid::new(node_net_id, counter.fetch_add(1, Ordering::Relaxed))
        });
        Arc::new(Self {
            registry: Arc::new(registry),
            metrics: NodeMetrics::default(),
            publish_policy: PublishPolicy::default(),
            hls: crate::hls::HlsStreams::default(),
        })
    }
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
        assert!(policy.check(peer("127.0.0.1:5000"), "live/a").is_ok());
        assert!(policy.check(peer("127.8.9.10:5000"), "live/a").is_ok());
        assert!(policy.check(peer("[::1]:5000"), "live/a").is_ok());
        assert!(
            policy
                .check(peer("[::ffff:127.0.0.1]:5000"), "live/a")
                .is_ok()
        );
        let refused = policy.check(peer("10.1.2.3:5000"), "live/a").unwrap_err();
        assert!(refused.contains("needs a stream key or token"), "{refused}");
        assert!(refused.contains("10.1.2.3"), "{refused}");
        assert!(policy.check(peer("[2001:db8::1]:5000"), "live/a").is_err());
    }

    #[test]
    fn listed_addresses_may_publish_too() {
        let policy = PublishPolicy {
            open_to: vec!["10.1.2.3".parse().unwrap()],
        };
        assert!(policy.check(peer("10.1.2.3:1"), "live/a").is_ok());
        assert!(policy.check(peer("10.1.2.4:1"), "live/a").is_err());
    }
}
