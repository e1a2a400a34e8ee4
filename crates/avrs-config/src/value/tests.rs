use super::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SIZE: Range = Range {
    min: 4096,
    max: 64 * 1024 * 1024,
    expected: "size words",
};
const RATE: Range = Range {
    min: 1_000,
    max: 100_000_000_000,
    expected: "rate words",
};
const TIME: Range = Range {
    min: 100,
    max: 3_600_000,
    expected: "time words",
};

#[test]
fn booleans() {
    for (text, want) in [
        ("true", true),
        ("TRUE", true),
        ("yes", true),
        ("On", true),
        ("1", true),
        ("false", false),
        ("No", false),
        ("off", false),
        ("0", false),
    ] {
        assert_eq!(boolean(text), Ok(want), "{text:?}");
    }
    for text in ["", "2", "y", "enabled", "truee", " true"] {
        let problem = boolean(text).unwrap_err();
        assert_eq!(problem.expected, "true or false (also yes/no, on/off, 1/0)");
    }
}

#[test]
fn whole_numbers() {
    for (text, want) in [("1", 1), ("1000000", 1_000_000), ("007", 7)] {
        assert_eq!(whole_number(text, 1, 1_000_000), Ok(want), "{text:?}");
    }
    for text in [
        "",
        "0",
        "1000001",
        "-1",
        "+5",
        "1_000",
        "1e3",
        "1.0",
        "lots",
        "99999999999999999999999",
    ] {
        let problem = whole_number(text, 1, 1_000_000).unwrap_err();
        assert_eq!(
            problem.expected, "a whole number from 1 to 1000000",
            "{text:?}"
        );
    }
}

#[test]
fn sizes_are_1024_based() {
    let cases = [
        ("65536", 65_536),
        ("4096", 4096),
        ("64k", 65_536),
        ("64K", 65_536),
        ("64KiB", 65_536),
        ("64 kib", 65_536),
        ("1M", 1 << 20),
        ("1m", 1 << 20),
        ("1MiB", 1 << 20),
        ("64MiB", 64 << 20),
    ];
    for (text, want) in cases {
        assert_eq!(byte_size(text, SIZE), Ok(want), "{text:?}");
    }
    for text in [
        "",
        "4095",
        "3k",
        "65M",
        "64KB",
        "1G",
        "1.5M",
        "k",
        "-4k",
        "64 k b",
        "18446744073709551615M",
        "99999999999999999999",
    ] {
        assert_eq!(
            byte_size(text, SIZE),
            Err(Problem::expected("size words")),
            "{text:?}"
        );
    }
}

#[test]
fn sizes_are_written_in_their_largest_exact_unit() {
    for (bytes, text) in [
        (0, "0"),
        (4096, "4KiB"),
        (65_536, "64KiB"),
        (1 << 20, "1MiB"),
        (5000, "5000"),
    ] {
        assert_eq!(write_size(bytes), text);
    }
}

#[test]
fn bitrates_are_1000_based() {
    let cases = [
        ("10000000", 10_000_000),
        ("10M", 10_000_000),
        ("10m", 10_000_000),
        ("10Mbit", 10_000_000),
        ("10 Mbit/s", 10_000_000),
        ("10Mbps", 10_000_000),
        ("2500k", 2_500_000),
        ("2500K", 2_500_000),
        ("1000", 1_000),
        ("1000bps", 1_000),
        ("1k", 1_000),
        ("100G", 100_000_000_000),
    ];
    for (text, want) in cases {
        assert_eq!(bitrate(text, RATE), Ok(want), "{text:?}");
    }
    for text in [
        "",
        "999",
        "101G",
        "1T",
        "10MB",
        "10 Mbits",
        "M",
        "1.5M",
        "10Mbit/",
        "99999999999G",
    ] {
        assert_eq!(
            bitrate(text, RATE),
            Err(Problem::expected("rate words")),
            "{text:?}"
        );
    }
}

#[test]
fn bitrates_are_written_in_their_largest_exact_unit() {
    for (bits, text) in [
        (10_000_000, "10M"),
        (2_500_000, "2500k"),
        (100_000_000_000, "100G"),
        (1_500, "1500"),
        (0, "0"),
    ] {
        assert_eq!(write_bitrate(bits), text);
    }
}

#[test]
fn durations_default_to_seconds() {
    let cases = [
        ("30", 30_000),
        ("30s", 30_000),
        ("30S", 30_000),
        ("500ms", 500),
        ("100ms", 100),
        ("2m", 120_000),
        ("1h", 3_600_000),
        ("60 m", 3_600_000),
    ];
    for (text, millis) in cases {
        assert_eq!(
            duration(text, TIME),
            Ok(Duration::from_millis(millis)),
            "{text:?}"
        );
    }
    for text in [
        "",
        "0",
        "99ms",
        "2h",
        "3601s",
        "1d",
        "1.5s",
        "s",
        "30sec",
        "-1s",
        "18446744073709551615h",
    ] {
        assert_eq!(
            duration(text, TIME),
            Err(Problem::expected("time words")),
            "{text:?}"
        );
    }
}

#[test]
fn durations_are_written_in_their_largest_exact_unit() {
    for (millis, text) in [
        (0, "0s"),
        (500, "500ms"),
        (30_000, "30s"),
        (120_000, "2m"),
        (7_200_000, "2h"),
        (90_000, "90s"),
    ] {
        assert_eq!(write_duration(Duration::from_millis(millis)), text);
    }
}

#[test]
fn host_ports() {
    let v4 = |a, b, c, d| Host::Ip(IpAddr::V4(Ipv4Addr::new(a, b, c, d)));
    let cases = [
        ("192.168.1.100:8080", v4(192, 168, 1, 100), 8080),
        (
            "[2001:db8::1]:8443",
            Host::Ip(IpAddr::V6("2001:db8::1".parse().unwrap())),
            8443,
        ),
        ("[::]:1", Host::Ip(IpAddr::V6(Ipv6Addr::UNSPECIFIED)), 1),
        (
            "node1.example.com:65535",
            Host::Name("node1.example.com".into()),
            65535,
        ),
        ("localhost:80", Host::Name("localhost".into()), 80),
        ("a-b.c1:80", Host::Name("a-b.c1".into()), 80),
    ];
    for (text, host, port) in cases {
        let got = host_port(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        assert_eq!(got, HostPort { host, port }, "{text:?}");
    }
    let rejected = [
        "",
        "8080",
        "host",
        "host:",
        ":8080",
        "host:0",
        "host:65536",
        "host:http",
        "host:-1",
        "[2001:db8::1]",
        "[2001:db8::1]8080",
        "[nonsense]:80",
        "[1.2.3.4]:80",
        "-bad.com:80",
        "bad-.com:80",
        "a..b:80",
        "under_score:80",
        "300.1.1.1:80",
        "1.2.3:80",
        "exa mple:80",
        "host.:80",
    ];
    for text in rejected {
        let problem = host_port(text).unwrap_err();
        assert!(
            problem.expected.starts_with("a host and port such as"),
            "{text:?}: {problem:?}"
        );
    }
    let bare_v6 = host_port("2001:db8::1:8080").unwrap_err();
    assert!(
        bare_v6.expected.contains("IPv6 address in brackets"),
        "{bare_v6:?}"
    );
    let long_name = format!("{}.com:80", "a".repeat(64));
    assert!(host_port(&long_name).is_err());
}

#[test]
fn host_ports_are_written_so_they_read_back() {
    for text in [
        "192.168.1.100:8080",
        "[2001:db8::1]:8443",
        "node1.example.com:1",
    ] {
        let parsed = host_port(text).unwrap();
        assert_eq!(parsed.to_string(), text);
    }
}

#[test]
fn listen_addresses() {
    for (text, want) in [
        ("0.0.0.0:1935", SocketAddr::from(([0, 0, 0, 0], 1935))),
        ("127.0.0.1:0", SocketAddr::from(([127, 0, 0, 1], 0))),
        ("[::]:4433", SocketAddr::from((Ipv6Addr::UNSPECIFIED, 4433))),
    ] {
        assert_eq!(listen_address(text), Ok(want), "{text:?}");
    }
    for text in [
        "",
        "localhost:1935",
        "0.0.0.0",
        ":1935",
        "0.0.0.0:65536",
        "::1:80",
    ] {
        let problem = listen_address(text).unwrap_err();
        assert!(
            problem.expected.starts_with("an IP address and port"),
            "{text:?}"
        );
    }
}

#[test]
fn cluster_ids() {
    let guuid = avrs_proto::Guuid::new(0x0123_4567_89AB_CDEF, 1);
    let cases = [
        ("main_cluster", ClusterId::Name("main_cluster".into())),
        ("a", ClusterId::Name("a".into())),
        ("A.b-c_9", ClusterId::Name("A.b-c_9".into())),
        ("0123456789abcdef-0000000000000001", ClusterId::Guuid(guuid)),
        ("0123456789ABCDEF-0000000000000001", ClusterId::Guuid(guuid)),
        // Not GUUID-shaped (15 digits), but a fine name.
        (
            "0123456789abcde-0000000000000001",
            ClusterId::Name("0123456789abcde-0000000000000001".into()),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(cluster_id(text), Ok(want), "{text:?}");
    }
    let too_long = "x".repeat(64);
    for text in [
        "",
        "main cluster",
        "caf\u{e9}",
        "a/b",
        too_long.as_str(),
        "+123456789ABCDEF-0000000000000001",
    ] {
        let problem = cluster_id(text).unwrap_err();
        assert!(
            problem.expected.starts_with("a name of 1 to 63"),
            "{text:?}"
        );
    }
    assert_eq!(
        ClusterId::Guuid(guuid).to_string(),
        "0123456789ABCDEF-0000000000000001"
    );
    assert_eq!(
        cluster_id(&"x".repeat(63)),
        Ok(ClusterId::Name("x".repeat(63)))
    );
}

#[test]
fn format_lists() {
    use MediaFormat::*;
    let cases = [
        ("h264,aac,webm", vec![H264, Aac, Webm]),
        (" H264 , AAC ", vec![H264, Aac]),
        ("hevc", vec![H265]),
        (
            "h265,opus,vp8,vp9,av1,mp4,flv,ts",
            vec![H265, Opus, Vp8, Vp9, Av1, Mp4, Flv, Ts],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(format_list(text), Ok(want), "{text:?}");
    }
    for (text, part) in [
        ("h264,mkv", "mkv"),
        ("", ""),
        ("h264,,aac", ""),
        ("h264,", ""),
        ("h264,H264", "H264"),
        ("h265,hevc", "hevc"),
        ("h264 aac", "h264 aac"),
    ] {
        let problem = format_list(text).unwrap_err();
        assert_eq!(problem.part.as_deref(), Some(part), "{text:?}");
        assert!(problem.expected.contains("h265 (or hevc)"), "{text:?}");
    }
    assert_eq!(
        write_format_list(&MediaFormat::ALL),
        "h264,h265,aac,opus,vp8,vp9,av1,webm,mp4,flv,ts"
    );
    for format in MediaFormat::ALL {
        assert_eq!(format_list(&format.to_string()), Ok(vec![format]));
    }
}

#[test]
fn paths_join_the_base_when_relative() {
    let base = Path::new("/etc/avrs");
    let cases = [
        ("server.crt", "/etc/avrs/server.crt"),
        ("keys/server.key", "/etc/avrs/keys/server.key"),
        ("/abs/ca.crt", "/abs/ca.crt"),
        (" spaced name ", "/etc/avrs/ spaced name "),
    ];
    for (text, want) in cases {
        assert_eq!(file_path(text, base), Ok(PathBuf::from(want)), "{text:?}");
    }
    assert_eq!(
        file_path("x.crt", Path::new("")),
        Ok(PathBuf::from("x.crt"))
    );
    for text in ["", "a\u{7}b", "a\"b", "tab\there"] {
        let problem = file_path(text, base).unwrap_err();
        assert!(problem.expected.starts_with("a file path"), "{text:?}");
    }
}
