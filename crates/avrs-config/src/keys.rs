//! The keys of the `[avrs]` section, their command-line flags, and the
//! "did you mean" hint for a misspelt key.

/// A key of the `[avrs]` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Role,
    ClusterId,
    HostAddress,
    CertificateFile,
    PrivateKeyFile,
    CaCertificateFile,
    MaxConnections,
    BufferSize,
    ThreadPoolSize,
    SupportedFormats,
    MaxBitrate,
    AdaptiveStreaming,
    BalancerAddress,
    HeartbeatInterval,
    ReconnectTimeout,
    DebugMore,
    DataDir,
    RtmpAddress,
    HttpAddress,
    QuicAddress,
    RtmpWriteCoalesce,
    QuicMaxMtu,
    TlsCertificateFile,
    TlsPrivateKeyFile,
    HttpsAddress,
    RtmpsAddress,
}

impl Key {
    /// Every key, in the order of the original config, then the avrs
    /// extensions. [`crate::Config::to_ini`] writes them in this order.
    pub const ALL: [Key; 26] = [
        Key::Role,
        Key::ClusterId,
        Key::HostAddress,
        Key::CertificateFile,
        Key::PrivateKeyFile,
        Key::CaCertificateFile,
        Key::MaxConnections,
        Key::BufferSize,
        Key::ThreadPoolSize,
        Key::SupportedFormats,
        Key::MaxBitrate,
        Key::AdaptiveStreaming,
        Key::BalancerAddress,
        Key::HeartbeatInterval,
        Key::ReconnectTimeout,
        Key::DebugMore,
        Key::DataDir,
        Key::RtmpAddress,
        Key::HttpAddress,
        Key::QuicAddress,
        Key::RtmpWriteCoalesce,
        Key::QuicMaxMtu,
        Key::TlsCertificateFile,
        Key::TlsPrivateKeyFile,
        Key::HttpsAddress,
        Key::RtmpsAddress,
    ];

    /// The name in the INI file.
    pub const fn name(self) -> &'static str {
        match self {
            Key::Role => "role",
            Key::ClusterId => "cluster_id",
            Key::HostAddress => "host_address",
            Key::CertificateFile => "certificate_file",
            Key::PrivateKeyFile => "private_key_file",
            Key::CaCertificateFile => "ca_certificate_file",
            Key::MaxConnections => "max_connections",
            Key::BufferSize => "buffer_size",
            Key::ThreadPoolSize => "thread_pool_size",
            Key::SupportedFormats => "supported_formats",
            Key::MaxBitrate => "max_bitrate",
            Key::AdaptiveStreaming => "adaptive_streaming",
            Key::BalancerAddress => "balancer_address",
            Key::HeartbeatInterval => "heartbeat_interval",
            Key::ReconnectTimeout => "reconnect_timeout",
            Key::DebugMore => "debug_more",
            Key::DataDir => "data_dir",
            Key::RtmpAddress => "rtmp_address",
            Key::HttpAddress => "http_address",
            Key::QuicAddress => "quic_address",
            Key::RtmpWriteCoalesce => "rtmp_write_coalesce",
            Key::QuicMaxMtu => "quic_max_mtu",
            Key::TlsCertificateFile => "tls_certificate_file",
            Key::TlsPrivateKeyFile => "tls_private_key_file",
            Key::HttpsAddress => "https_address",
            Key::RtmpsAddress => "rtmps_address",
        }
    }

    /// The `avrs serve` flag that overrides the key; errors in overrides name
    /// it. Most flags are the key with dashes; a few are shorter.
    pub const fn flag(self) -> &'static str {
        match self {
            Key::Role => "--role",
            Key::ClusterId => "--cluster-id",
            Key::HostAddress => "--host-address",
            Key::CertificateFile => "--certificate-file",
            Key::PrivateKeyFile => "--private-key-file",
            Key::CaCertificateFile => "--ca-certificate-file",
            Key::MaxConnections => "--max-connections",
            Key::BufferSize => "--buffer-size",
            Key::ThreadPoolSize => "--thread-pool-size",
            Key::SupportedFormats => "--supported-formats",
            Key::MaxBitrate => "--max-bitrate",
            Key::AdaptiveStreaming => "--adaptive-streaming",
            Key::BalancerAddress => "--balancer-address",
            Key::HeartbeatInterval => "--heartbeat-interval",
            Key::ReconnectTimeout => "--reconnect-timeout",
            Key::DebugMore => "--debug",
            Key::DataDir => "--data-dir",
            Key::RtmpAddress => "--rtmp",
            Key::HttpAddress => "--http",
            Key::QuicAddress => "--quic",
            Key::RtmpWriteCoalesce => "--rtmp-write-coalesce",
            Key::QuicMaxMtu => "--quic-max-mtu",
            Key::TlsCertificateFile => "--tls-cert",
            Key::TlsPrivateKeyFile => "--tls-key",
            Key::HttpsAddress => "--https",
            Key::RtmpsAddress => "--rtmps",
        }
    }

    /// The key called exactly `name`.
    pub fn from_name(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|key| key.name() == name)
    }

    /// All key names, comma separated, for messages.
    pub(crate) fn name_list() -> String {
        Key::ALL.map(Key::name).join(", ")
    }

    /// The known key that `unknown` was most likely meant to be: close in
    /// spelling (case, `-` for `_`, a few typos) or a part of it
    /// (`connections` → `max_connections`).
    pub fn suggest(unknown: &str) -> Option<&'static str> {
        let wanted = unknown.to_ascii_lowercase().replace('-', "_");
        let (distance, key) = Key::ALL
            .into_iter()
            .map(|key| (edit_distance(&wanted, key.name()), key))
            .min_by_key(|(distance, _)| *distance)?;
        let close = distance <= 2 || distance * 4 <= key.name().len();
        let part = wanted.len() >= 4 && Key::ALL.iter().any(|k| k.name().contains(&wanted));
        if close {
            Some(key.name())
        } else if part {
            Key::ALL
                .into_iter()
                .find(|k| k.name().contains(&wanted))
                .map(Key::name)
        } else {
            None
        }
    }
}

/// Levenshtein distance over bytes. Keys are ASCII, and the unknown key is
/// at most one line long, so this stays cheap.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.as_bytes().iter().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            let insert = current[j] + 1;
            let delete = previous[j + 1] + 1;
            current.push(substitute.min(insert).min(delete));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_flags_are_unique_and_consistent() {
        for key in Key::ALL {
            assert_eq!(Key::from_name(key.name()), Some(key));
            assert!(key.flag().starts_with("--"), "{key:?}");
            let others = Key::ALL.iter().filter(|k| **k != key);
            for other in others {
                assert_ne!(other.name(), key.name());
                assert_ne!(other.flag(), key.flag());
            }
        }
        assert_eq!(Key::from_name("Role"), None);
        assert!(Key::name_list().starts_with("role, cluster_id, "));
    }

    #[test]
    fn suggestions() {
        let cases = [
            ("max_connection", Some("max_connections")),
            ("max-connections", Some("max_connections")),
            ("MAX_CONNECTIONS", Some("max_connections")),
            ("roles", Some("role")),
            ("clusterid", Some("cluster_id")),
            ("heartbeat", Some("heartbeat_interval")),
            ("connections", Some("max_connections")),
            ("buffer_sise", Some("buffer_size")),
            ("debug", Some("debug_more")),
            ("xyz", None),
            ("colour", None),
            ("", None),
        ];
        for (unknown, want) in cases {
            assert_eq!(Key::suggest(unknown), want, "{unknown:?}");
        }
    }

    #[test]
    fn edit_distance_examples() {
        let cases = [
            ("", "", 0),
            ("a", "", 1),
            ("", "abc", 3),
            ("kitten", "sitting", 3),
            ("role", "roles", 1),
        ];
        for (a, b, want) in cases {
            assert_eq!(edit_distance(a, b), want, "{a:?} {b:?}");
            assert_eq!(edit_distance(b, a), want, "{a:?} {b:?}");
        }
    }
}
