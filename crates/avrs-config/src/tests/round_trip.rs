//! `to_ini` reads back to the same `Config`; no input makes the reader panic.

use crate::value::{ClusterId, Host, HostPort, MediaFormat};
use crate::{Config, Key, Roles};
use avrs_proto::Guuid;
use proptest::prelude::*;
use proptest::sample::subsequence;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The body of `fuzz/fuzz_targets/config_ini.rs`: whatever reads must write
/// out and read back to the same value.
fn fuzz_body(data: &[u8]) {
    if let Ok(config) = Config::from_bytes_named(data, "fuzz.ini") {
        let text = config.to_ini();
        let again = Config::from_str_named(&text, "fuzz.ini")
            .unwrap_or_else(|e| panic!("to_ini output does not read back: {e}\n{text}"));
        assert_eq!(again, config);
    }
}

#[test]
fn the_default_round_trips_and_is_what_to_ini_says() {
    let text = Config::default().to_ini();
    assert_eq!(
        Config::from_str_named(&text, "x.ini").unwrap(),
        Config::default()
    );
    assert!(
        text.starts_with("[avrs]\nrole = host,server,balancer\ncluster_id = local\n"),
        "{text}"
    );
    assert!(text.contains("\n# host_address = (not set)\n"), "{text}");
    assert!(text.contains("\nbuffer_size = 64KiB\n"), "{text}");
    assert!(text.contains("\nmax_bitrate = 10M\n"), "{text}");
    assert!(text.contains("\nheartbeat_interval = 30s\n"), "{text}");
    assert!(text.contains("\nreconnect_timeout = 1m\n"), "{text}");
}

#[test]
fn awkward_paths_are_quoted_and_read_back() {
    let config = Config {
        data_dir: PathBuf::from(" spaced # not a comment "),
        certificate_file: Some(PathBuf::from("#hash")),
        private_key_file: Some(PathBuf::from("semi ;colon")),
        ca_certificate_file: Some(PathBuf::from("plain")),
        ..Config::default()
    };
    let text = config.to_ini();
    assert!(
        text.contains("\ndata_dir = \" spaced # not a comment \"\n"),
        "{text}"
    );
    assert!(text.contains("\ncertificate_file = \"#hash\"\n"), "{text}");
    assert!(text.contains("\nca_certificate_file = plain\n"), "{text}");
    assert_eq!(Config::from_str_named(&text, "x.ini").unwrap(), config);
}

#[test]
fn fuzz_body_handles_known_tricky_inputs() {
    let inputs: [&[u8]; 9] = [
        // fuzz (config_ini): `;"` read as a value, then written as `";""`.
        b"[policy.h]\nwo=;\"\nw8\r\t=;\nw\r=;;;;;;\0",
        b"",
        b"\xEF\xBB\xBF",
        b"[avrs]\ndata_dir = \" x \"\n",
        b"[avrs]\ncluster_id = 000000000000000a-000000000000000B\n",
        b"[avrs]\nrole = 0xFFFF\nsupported_formats = hevc\n",
        b"[avrs]\nheartbeat_interval = 3600000ms\n",
        b"[avrs]\r\nhost_address = [::ffff:1.2.3.4]:1\r\n",
        b"[avrs]\nk\xff = v\n",
    ];
    for input in inputs {
        fuzz_body(input);
    }
}

fn roles() -> impl Strategy<Value = Roles> {
    let known = [
        Roles::CLIENT,
        Roles::HOST,
        Roles::OPERATOR,
        Roles::SERVER,
        Roles::BALANCER,
    ];
    prop_oneof![
        Just(Roles::ALL),
        subsequence(known.to_vec(), 1..=5)
            .prop_map(|r| r.into_iter().fold(Roles::empty(), |a, b| a | b)),
    ]
}

fn cluster_id() -> impl Strategy<Value = ClusterId> {
    prop_oneof![
        "[A-Za-z0-9_.-]{1,63}".prop_map(|name| crate::value::cluster_id(&name).unwrap()),
        any::<(u64, u64)>().prop_map(|(net, srv)| ClusterId::Guuid(Guuid::new(net, srv))),
    ]
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        any::<[u16; 8]>().prop_map(|s| IpAddr::V6(Ipv6Addr::from(s))),
    ]
}

fn host_port() -> impl Strategy<Value = Option<HostPort>> {
    let host = prop_oneof![
        ip().prop_map(Host::Ip),
        "[a-z][a-z0-9-]{0,10}[a-z0-9](\\.[a-z]{1,5}){0,2}".prop_map(Host::Name),
    ];
    proptest::option::of((host, 1u16..).prop_map(|(host, port)| HostPort { host, port }))
}

fn path() -> impl Strategy<Value = PathBuf> {
    "[A-Za-z0-9/_. #;-]{1,30}".prop_map(PathBuf::from)
}

fn listen() -> impl Strategy<Value = SocketAddr> {
    (ip(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip, port))
}

fn scaled(min: u64, max: u64, units: &'static [u64]) -> impl Strategy<Value = u64> {
    prop_oneof![
        min..=max,
        (proptest::sample::select(units), any::<u64>())
            .prop_map(move |(unit, n)| (min.div_ceil(unit)
                + n % (max / unit - min.div_ceil(unit) + 1))
                * unit),
    ]
}

fn millis(min: u64, max: u64) -> impl Strategy<Value = Duration> {
    scaled(min, max, &[1_000, 60_000, 3_600_000]).prop_map(Duration::from_millis)
}

fn config() -> impl Strategy<Value = Config> {
    let identity = (roles(), cluster_id(), host_port(), host_port());
    let files = (
        proptest::option::of(path()),
        proptest::option::of(path()),
        proptest::option::of(path()),
        path(),
    );
    let sizes = (
        1u32..=1_000_000,
        scaled(4096, 64 << 20, &[1024, 1 << 20]),
        0u16..=1024,
        scaled(1_000, 100_000_000_000, &[1_000, 1_000_000, 1_000_000_000]),
    );
    let content = (
        subsequence(MediaFormat::ALL.to_vec(), 1..=11).prop_shuffle(),
        any::<bool>(),
        any::<bool>(),
        millis(100, 3_600_000),
        millis(0, 86_400_000),
    );
    let listeners = (
        listen(),
        listen(),
        listen(),
        millis(0, 1_000),
        1200u16..=65_527,
    );
    let tls = (
        proptest::option::of(path()),
        proptest::option::of(path()),
        proptest::option::of(listen()),
        proptest::option::of(listen()),
    );
    (identity, files, sizes, content, listeners, tls).prop_map(
        |(
            (roles, cluster_id, host_address, balancer_address),
            (certificate_file, private_key_file, ca_certificate_file, data_dir),
            (max_connections, buffer_size, thread_pool_size, max_bitrate),
            (
                supported_formats,
                adaptive_streaming,
                debug_more,
                heartbeat_interval,
                reconnect_timeout,
            ),
            (rtmp_address, http_address, quic_address, rtmp_write_coalesce, quic_max_mtu),
            (tls_certificate_file, tls_private_key_file, https_address, rtmps_address),
        )| Config {
            roles,
            cluster_id,
            host_address,
            certificate_file,
            private_key_file,
            ca_certificate_file,
            max_connections,
            buffer_size: u32::try_from(buffer_size).unwrap(),
            thread_pool_size,
            supported_formats,
            max_bitrate,
            adaptive_streaming,
            balancer_address,
            heartbeat_interval,
            reconnect_timeout,
            debug_more,
            data_dir,
            rtmp_address,
            http_address,
            quic_address,
            rtmp_write_coalesce,
            quic_max_mtu,
            tls_certificate_file,
            tls_private_key_file,
            https_address,
            rtmps_address,
            extensions: Vec::new(),
        },
    )
}

/// Lines that look like a config often enough to reach the typed layer.
fn config_like_text() -> impl Strategy<Value = String> {
    let key = proptest::sample::select(Key::ALL.map(Key::name).to_vec());
    let line = prop_oneof![
        Just("[avrs]".to_owned()),
        "\\[[a-z ]{0,5}\\]?",
        (key, "[ -~]{0,24}").prop_map(|(k, v)| format!("{k} = {v}")),
        "[#;][ -~]{0,10}",
        "[ -~\t\r\u{e9}\u{feff}]{0,30}",
    ];
    (proptest::collection::vec(line, 0..12), any::<bool>())
        .prop_map(|(lines, crlf)| lines.join(if crlf { "\r\n" } else { "\n" }))
}

proptest! {
    #[test]
    fn to_ini_reads_back_to_the_same_config(config in config()) {
        let text = config.to_ini();
        let again = Config::from_str_named(&text, "rt.ini");
        prop_assert_eq!(again.as_ref(), Ok(&config), "{}", text);
    }

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        fuzz_body(&bytes);
    }

    #[test]
    fn config_like_text_never_panics_and_round_trips(text in config_like_text()) {
        fuzz_body(text.as_bytes());
    }
}

#[test]
fn extension_sections_round_trip_wherever_they_stood() {
    // Found by the config_ini fuzz target: a section on line 24 came back
    // on line 1 and the configs compared unequal.
    let text = format!("{}[record.cccc]\n", "#\n".repeat(23));
    let config = Config::from_str_named(&text, "fuzz.ini").unwrap();
    assert_eq!(config.extensions[0].section.line, 24);
    let again = Config::from_str_named(&config.to_ini(), "fuzz.ini").unwrap();
    assert_eq!(again, config);
    let mut other = config.clone();
    other.extensions[0].section.name = "record.dddd".into();
    assert_ne!(other, config, "names still matter");
    // The fuzz artifact itself.
    fuzz_body(b"[record.cccc]\r");
}
