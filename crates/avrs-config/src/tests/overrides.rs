//! Overrides from flags: laid over the file, checked with the same rules.

use super::read;
use crate::{Config, ConfigError, ConfigOverrides, Key, Origin, Roles};
use std::path::PathBuf;

#[test]
fn no_overrides_change_nothing() {
    let config = read("[avrs]\nrole = server\n").unwrap();
    assert_eq!(
        config
            .clone()
            .with_overrides(&ConfigOverrides::default())
            .unwrap(),
        config
    );
}

#[test]
fn flags_replace_file_values_and_leave_the_rest() {
    let config = read("[avrs]\nrole = server\nmax_connections = 10\nbuffer_size = 8k\n").unwrap();
    let flags = ConfigOverrides {
        max_connections: Some("20".into()),
        rtmp_address: Some("127.0.0.1:0".into()),
        heartbeat_interval: Some(" 500ms ".into()),
        data_dir: Some("relative/data".into()),
        debug_more: Some(true),
        ..Default::default()
    };
    let config = config.with_overrides(&flags).unwrap();
    assert_eq!(config.max_connections, 20);
    assert_eq!(config.rtmp_address, "127.0.0.1:0".parse().unwrap());
    assert_eq!(
        config.heartbeat_interval,
        std::time::Duration::from_millis(500)
    );
    assert_eq!(config.data_dir, PathBuf::from("relative/data"));
    assert!(config.debug_more);
    assert_eq!(config.roles, Roles::SERVER);
    assert_eq!(config.buffer_size, 8192);
}

#[test]
fn every_text_override_reaches_its_key() {
    // One override per key, each a value that differs from the default.
    let flags = ConfigOverrides {
        role: Some("client".into()),
        cluster_id: Some("other".into()),
        host_address: Some("h:1".into()),
        certificate_file: Some("c".into()),
        private_key_file: Some("k".into()),
        ca_certificate_file: Some("ca".into()),
        max_connections: Some("7".into()),
        buffer_size: Some("8k".into()),
        thread_pool_size: Some("2".into()),
        supported_formats: Some("ts".into()),
        max_bitrate: Some("5k".into()),
        adaptive_streaming: Some("on".into()),
        balancer_address: Some("b:2".into()),
        heartbeat_interval: Some("1s".into()),
        reconnect_timeout: Some("0".into()),
        debug_more: Some(true),
        data_dir: Some("d".into()),
        rtmp_address: Some("127.0.0.1:1".into()),
        http_address: Some("127.0.0.1:2".into()),
        quic_address: Some("127.0.0.1:3".into()),
        rtmp_write_coalesce: Some("20ms".into()),
        quic_max_mtu: Some("8952".into()),
        tls_certificate_file: Some("t.pem".into()),
        tls_private_key_file: Some("t.key".into()),
        https_address: Some("127.0.0.1:4".into()),
        rtmps_address: Some("127.0.0.1:5".into()),
    };
    let default = Config::default();
    let config = default.clone().with_overrides(&flags).unwrap();
    for key in Key::ALL {
        assert_ne!(config.value_text(key), default.value_text(key), "{key:?}");
    }
}

#[test]
fn a_bad_override_names_the_flag() {
    let cases = [
        (
            ConfigOverrides {
                max_connections: Some("lots".into()),
                ..Default::default()
            },
            "--max-connections: expected a whole number from 1 to 1000000, got 'lots'",
        ),
        (
            ConfigOverrides {
                rtmp_address: Some("nowhere".into()),
                ..Default::default()
            },
            "--rtmp: expected an IP address and port such as 0.0.0.0:1935 or [::]:1935 \
             (port 0 picks a free port), got 'nowhere'",
        ),
        (
            ConfigOverrides {
                role: Some("host,boss".into()),
                ..Default::default()
            },
            "--role: expected at least one role: names from client, host, operator, server, \
             balancer, all, separated by commas, or a hex mask such as 0x0102, got 'boss'",
        ),
    ];
    for (flags, message) in cases {
        let err = Config::default().with_overrides(&flags).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    let err = Config::default()
        .with_overrides(&ConfigOverrides {
            quic_address: Some("x".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::InvalidValue {
            origin: Origin::Flag("--quic"),
            key: "quic_address",
            ..
        }
    ));
}
