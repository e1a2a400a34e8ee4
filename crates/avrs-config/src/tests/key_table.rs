//! Every key: the forms it accepts and the forms it refuses, through a file.

use super::read_line;
use crate::{ClusterId, Config, ConfigError, Host, MediaFormat, Origin, Roles};
use avrs_proto::Guuid;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

type Check = fn(&Config) -> bool;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

const ACCEPTED: &[(&str, Check)] = &[
    ("role = server", |c| c.roles == Roles::SERVER),
    ("role = host,server", |c| {
        c.roles == Roles::HOST | Roles::SERVER
    }),
    ("role = Client, Operator", |c| {
        c.roles == Roles::CLIENT | Roles::OPERATOR
    }),
    ("role = 0x0102", |c| c.roles == Roles::HOST | Roles::SERVER),
    ("role = all", |c| c.roles == Roles::ALL),
    ("role = 0xFFFF", |c| c.roles == Roles::ALL),
    ("cluster_id = main_cluster", |c| {
        c.cluster_id == ClusterId::Name("main_cluster".into())
    }),
    ("cluster_id = \"quoted.name\"", |c| {
        c.cluster_id == ClusterId::Name("quoted.name".into())
    }),
    ("cluster_id = 00000000000000AA-00000000000000bb", |c| {
        c.cluster_id == ClusterId::Guuid(Guuid::new(0xAA, 0xBB))
    }),
    ("host_address = 192.168.1.100:8080", |c| {
        c.host_address
            .as_ref()
            .is_some_and(|a| a.to_string() == "192.168.1.100:8080")
    }),
    ("host_address = [2001:db8::1]:8080", |c| {
        c.host_address
            .as_ref()
            .is_some_and(|a| a.to_string() == "[2001:db8::1]:8080")
    }),
    ("host_address = host.example:1", |c| {
        c.host_address
            .as_ref()
            .is_some_and(|a| a.host == Host::Name("host.example".into()) && a.port == 1)
    }),
    ("balancer_address = 192.168.1.101:8081", |c| {
        c.balancer_address
            .as_ref()
            .is_some_and(|a| a.to_string() == "192.168.1.101:8081")
    }),
    ("certificate_file = /etc/avrs/server.crt", |c| {
        c.certificate_file == Some(PathBuf::from("/etc/avrs/server.crt"))
    }),
    ("certificate_file = server.crt", |c| {
        c.certificate_file == Some(PathBuf::from("server.crt"))
    }),
    ("private_key_file = \"/keys/my key.pem\"", |c| {
        c.private_key_file == Some(PathBuf::from("/keys/my key.pem"))
    }),
    ("ca_certificate_file = ca.crt # the CA", |c| {
        c.ca_certificate_file == Some(PathBuf::from("ca.crt"))
    }),
    ("max_connections = 1", |c| c.max_connections == 1),
    ("max_connections = 1000000", |c| {
        c.max_connections == 1_000_000
    }),
    ("buffer_size = 65536", |c| c.buffer_size == 65_536),
    ("buffer_size = 4KiB", |c| c.buffer_size == 4096),
    ("buffer_size = 64k", |c| c.buffer_size == 65_536),
    ("buffer_size = 1M", |c| c.buffer_size == 1 << 20),
    ("buffer_size = 64MiB", |c| c.buffer_size == 64 << 20),
    ("thread_pool_size = 0", |c| c.thread_pool_size == 0),
    ("thread_pool_size = 1024", |c| c.thread_pool_size == 1024),
    ("supported_formats = h264,aac,webm", |c| {
        c.supported_formats == [MediaFormat::H264, MediaFormat::Aac, MediaFormat::Webm]
    }),
    ("supported_formats = hevc, opus", |c| {
        c.supported_formats == [MediaFormat::H265, MediaFormat::Opus]
    }),
    ("max_bitrate = 10000000", |c| c.max_bitrate == 10_000_000),
    ("max_bitrate = 10Mbit", |c| c.max_bitrate == 10_000_000),
    ("max_bitrate = 2500k", |c| c.max_bitrate == 2_500_000),
    ("max_bitrate = 100G", |c| c.max_bitrate == 100_000_000_000),
    ("adaptive_streaming = true", |c| c.adaptive_streaming),
    ("adaptive_streaming = on", |c| c.adaptive_streaming),
    ("adaptive_streaming = No", |c| !c.adaptive_streaming),
    ("heartbeat_interval = 30", |c| {
        c.heartbeat_interval == secs(30)
    }),
    ("heartbeat_interval = 100ms", |c| {
        c.heartbeat_interval == Duration::from_millis(100)
    }),
    ("heartbeat_interval = 1h", |c| {
        c.heartbeat_interval == secs(3600)
    }),
    ("reconnect_timeout = 0", |c| {
        c.reconnect_timeout == Duration::ZERO
    }),
    ("reconnect_timeout = 2m", |c| {
        c.reconnect_timeout == secs(120)
    }),
    ("reconnect_timeout = 24h", |c| {
        c.reconnect_timeout == secs(86_400)
    }),
    ("debug_more = yes", |c| c.debug_more),
    ("debug_more = 0", |c| !c.debug_more),
    ("data_dir = /var/lib/avrs", |c| {
        c.data_dir == Path::new("/var/lib/avrs")
    }),
    ("rtmp_address = 127.0.0.1:19350", |c| {
        c.rtmp_address == addr("127.0.0.1:19350")
    }),
    ("http_address = [::]:0", |c| {
        c.http_address == addr("[::]:0")
    }),
    ("quic_address = [::1]:4433", |c| {
        c.quic_address == addr("[::1]:4433")
    }),
    ("rtmp_write_coalesce = 20ms", |c| {
        c.rtmp_write_coalesce == Duration::from_millis(20)
    }),
    ("rtmp_write_coalesce = 0", |c| {
        c.rtmp_write_coalesce == Duration::ZERO
    }),
    ("quic_max_mtu = 8952", |c| c.quic_max_mtu == 8952),
    ("quic_max_mtu = 1200", |c| c.quic_max_mtu == 1200),
    ("quic_max_mtu = 65527", |c| c.quic_max_mtu == 65_527),
    (
        "tls_certificate_file = /etc/letsencrypt/live/x/fullchain.pem",
        |c| c.tls_certificate_file == Some(PathBuf::from("/etc/letsencrypt/live/x/fullchain.pem")),
    ),
    ("tls_private_key_file = tls.key", |c| {
        c.tls_private_key_file == Some(PathBuf::from("tls.key"))
    }),
    ("https_address = 0.0.0.0:443", |c| {
        c.https_address == Some(addr("0.0.0.0:443"))
    }),
    ("rtmps_address = [::]:1936", |c| {
        c.rtmps_address == Some(addr("[::]:1936"))
    }),
];

#[test]
fn every_accepted_form_sets_its_field() {
    for (line, check) in ACCEPTED {
        let config = read_line(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert!(check(&config), "{line:?} gave {config:?}");
    }
}

#[test]
fn every_key_has_an_accepted_form() {
    for key in crate::Key::ALL {
        let prefix = format!("{} =", key.name());
        assert!(
            ACCEPTED.iter().any(|(line, _)| line.starts_with(&prefix)),
            "{key:?}"
        );
    }
}

/// `(line, the start of what is expected, what the error says it got)`.
const REJECTED: &[(&str, &str, &str)] = &[
    ("role = admin", "at least one role", "admin"),
    ("role = host,admin", "at least one role", "admin"),
    ("role = 0x0008", "at least one role", "0x0008"),
    ("role = none", "at least one role", "none"),
    ("role =", "at least one role", ""),
    (
        "cluster_id = main cluster",
        "a name of 1 to 63",
        "main cluster",
    ),
    ("cluster_id = ", "a name of 1 to 63", ""),
    (
        "host_address = 192.168.1.100",
        "a host and port",
        "192.168.1.100",
    ),
    (
        "host_address = 192.168.1.100:0",
        "a host and port",
        "192.168.1.100:0",
    ),
    (
        "host_address = 2001:db8::1:80",
        "an IPv6 address in brackets",
        "2001:db8::1:80",
    ),
    ("balancer_address = :8081", "a host and port", ":8081"),
    ("certificate_file =", "a file path", ""),
    ("private_key_file = a\"b", "a file path", "a\"b"),
    ("ca_certificate_file = x\"y", "a file path", "x\"y"),
    ("data_dir = \"\"", "a file path", ""),
    (
        "max_connections = lots",
        "a whole number from 1 to 1000000",
        "lots",
    ),
    (
        "max_connections = 0",
        "a whole number from 1 to 1000000",
        "0",
    ),
    (
        "max_connections = 1000001",
        "a whole number from 1 to 1000000",
        "1000001",
    ),
    (
        "max_connections = -5",
        "a whole number from 1 to 1000000",
        "-5",
    ),
    (
        "max_connections = 10k",
        "a whole number from 1 to 1000000",
        "10k",
    ),
    ("buffer_size = 4095", "a size from 4 KiB to 64 MiB", "4095"),
    (
        "buffer_size = 65MiB",
        "a size from 4 KiB to 64 MiB",
        "65MiB",
    ),
    ("buffer_size = 64KB", "a size from 4 KiB to 64 MiB", "64KB"),
    (
        "thread_pool_size = 1025",
        "a whole number from 0 to 1024 (0 = one thread per CPU)",
        "1025",
    ),
    (
        "thread_pool_size = many",
        "a whole number from 0 to 1024",
        "many",
    ),
    (
        "supported_formats = h264,mkv",
        "a comma-separated list of formats",
        "mkv",
    ),
    (
        "supported_formats = h264,,aac",
        "a comma-separated list of formats",
        "",
    ),
    (
        "max_bitrate = 999",
        "a bit rate from 1 kbit/s to 100 Gbit/s",
        "999",
    ),
    (
        "max_bitrate = 1T",
        "a bit rate from 1 kbit/s to 100 Gbit/s",
        "1T",
    ),
    ("max_bitrate = 10MB", "a bit rate", "10MB"),
    ("adaptive_streaming = maybe", "true or false", "maybe"),
    (
        "heartbeat_interval = 99ms",
        "a duration from 100ms to 1h",
        "99ms",
    ),
    ("heartbeat_interval = 0", "a duration from 100ms to 1h", "0"),
    (
        "heartbeat_interval = 2h",
        "a duration from 100ms to 1h",
        "2h",
    ),
    (
        "reconnect_timeout = 25h",
        "a duration from 0s to 24h",
        "25h",
    ),
    ("reconnect_timeout = 1d", "a duration from 0s to 24h", "1d"),
    ("debug_more = verbose", "true or false", "verbose"),
    (
        "rtmp_address = localhost:1935",
        "an IP address and port",
        "localhost:1935",
    ),
    ("http_address = 8080", "an IP address and port", "8080"),
    (
        "quic_address = 0.0.0.0:70000",
        "an IP address and port",
        "0.0.0.0:70000",
    ),
    (
        "rtmp_write_coalesce = 2s",
        "a duration from 0ms to 1s",
        "2s",
    ),
    (
        "rtmp_write_coalesce = soon",
        "a duration from 0ms to 1s",
        "soon",
    ),
    ("quic_max_mtu = 1199", "a UDP payload size in bytes", "1199"),
    (
        "quic_max_mtu = 65528",
        "a UDP payload size in bytes",
        "65528",
    ),
    ("quic_max_mtu = big", "a UDP payload size in bytes", "big"),
    ("tls_certificate_file =", "a file path", ""),
    ("tls_private_key_file = a\"b", "a file path", "a\"b"),
    ("https_address = 443", "an IP address and port", "443"),
    (
        "rtmps_address = example.com:1936",
        "an IP address and port",
        "example.com:1936",
    ),
];

#[test]
fn every_rejected_form_names_file_line_key_and_expectation() {
    for &(line, expected_start, got_text) in REJECTED {
        let err = read_line(line).unwrap_err();
        let key_name = line.split('=').next().unwrap().trim();
        let ConfigError::InvalidValue {
            origin,
            key,
            expected,
            got,
        } = &err
        else {
            panic!("{line:?}: {err:?}");
        };
        let want_origin = Origin::Line {
            file: "avrs.ini".into(),
            line: 2,
        };
        assert_eq!(origin, &want_origin, "{line:?}");
        assert_eq!(*key, key_name, "{line:?}");
        assert!(expected.starts_with(expected_start), "{line:?}: {expected}");
        assert_eq!(got, got_text, "{line:?}");
        let prefix = format!("avrs.ini:2: key '{key_name}': expected {expected_start}");
        assert!(err.to_string().starts_with(&prefix), "{err}");
        assert!(
            err.to_string().ends_with(&format!(", got '{got_text}'")),
            "{err}"
        );
    }
}

#[test]
fn every_key_has_a_rejected_form() {
    for key in crate::Key::ALL {
        let prefix = format!("{} =", key.name());
        assert!(
            REJECTED
                .iter()
                .any(|(line, _, _)| line.starts_with(&prefix)),
            "{key:?}"
        );
    }
}
