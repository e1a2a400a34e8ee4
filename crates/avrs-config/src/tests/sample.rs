//! `config/avrs.sample.ini` reads, holds the original example's values, and
//! mentions every key.

use crate::{ClusterId, Config, Key, MediaFormat, Roles};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn sample_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/avrs.sample.ini")
}

#[test]
fn the_sample_config_reads_with_the_original_values() {
    let path = sample_path();
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.roles, Roles::SERVER);
    assert_eq!(config.cluster_id, ClusterId::Name("main_cluster".into()));
    assert_eq!(
        config.host_address.unwrap().to_string(),
        "192.168.1.100:8080"
    );
    assert_eq!(
        config.certificate_file.unwrap(),
        Path::new("/etc/avrs/server.crt")
    );
    assert_eq!(
        config.private_key_file.unwrap(),
        Path::new("/etc/avrs/server.key")
    );
    assert_eq!(
        config.ca_certificate_file.unwrap(),
        Path::new("/etc/avrs/ca.crt")
    );
    assert_eq!(config.max_connections, 10_000);
    assert_eq!(config.buffer_size, 65_536);
    assert_eq!(config.thread_pool_size, 8);
    assert_eq!(
        config.supported_formats,
        [MediaFormat::H264, MediaFormat::Aac, MediaFormat::Webm]
    );
    assert_eq!(config.max_bitrate, 10_000_000);
    assert!(config.adaptive_streaming);
    assert_eq!(
        config.balancer_address.unwrap().to_string(),
        "192.168.1.101:8081"
    );
    assert_eq!(config.heartbeat_interval, Duration::from_secs(30));
    assert_eq!(config.reconnect_timeout, Duration::from_secs(60));
    assert!(!config.debug_more);
    assert_eq!(config.data_dir, path.parent().unwrap().join("./avrs-data"));
    let defaults = Config::default();
    assert_eq!(config.rtmp_address, defaults.rtmp_address);
    assert_eq!(config.http_address, defaults.http_address);
    assert_eq!(config.quic_address, defaults.quic_address);
}

#[test]
fn the_sample_sets_and_documents_every_key() {
    let text = std::fs::read_to_string(sample_path()).unwrap();
    for key in Key::ALL {
        // Keys that switch listeners on (TLS) are shown commented out.
        let set = format!("\n{} = ", key.name());
        let shown = format!("\n# {} = ", key.name());
        assert!(
            text.contains(&set) || text.contains(&shown),
            "{key:?} is not in the sample"
        );
    }
}

#[test]
fn the_sample_states_the_real_defaults() {
    let text = std::fs::read_to_string(sample_path()).unwrap();
    let defaults = Config::default();
    for key in Key::ALL {
        let Some(value) = defaults.value_text(key) else {
            continue;
        };
        // Each key's comment block ends in "Default: <value>" (as written
        // by to_ini, so units match), possibly followed by more words.
        let block_end = text.find(&format!("\n{} = ", key.name())).unwrap();
        let block_start = text[..block_end].rfind("\n\n").unwrap_or(0);
        let block = &text[block_start..block_end];
        let stated = format!("Default: {value}");
        assert!(
            block.contains(&stated),
            "{key:?}: expected {stated:?} in {block:?}"
        );
    }
}
