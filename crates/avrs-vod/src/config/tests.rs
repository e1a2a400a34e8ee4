use super::*;

fn parse(text: &str) -> Result<VodConfig> {
    let config = avrs_config::Config::from_str_named(text, "avrs.ini").expect("valid INI");
    VodConfig::from_config(&config)
}

#[test]
fn defaults_without_sections() {
    let vod = parse("[avrs]\n").unwrap();
    assert_eq!(vod, VodConfig::default());
    assert_eq!(vod.store, StoreConfig::Local { root: None });
}

#[test]
fn vod_and_record_sections_are_read() {
    let vod = parse(
        "[vod]\nsegment_target = 6s\nmax_upload_size = 1GiB\n\
         [record.shows]\npattern = live/show*\nmax_age = 7d\nmax_size = 10GiB\ndvr_window = 30m\n\
         [record.keep]\npattern = import\nrecord = no\nmax_age = 1h\n",
    )
    .unwrap();
    assert_eq!(vod.segment_target, Duration::from_secs(6));
    assert_eq!(vod.max_upload_size, 1 << 30);
    assert_eq!(vod.record.len(), 2);
    let shows = vod.rule_for("live/show-3").unwrap();
    assert_eq!(shows.name, "shows");
    assert_eq!(shows.max_age, Some(Duration::from_secs(7 * 86_400)));
    assert_eq!(shows.max_size, Some(10 << 30));
    assert_eq!(shows.dvr_window, Duration::from_secs(1800));
    assert!(!vod.rule_for("import").unwrap().record);
    assert!(vod.rule_for("live/other").is_none());
}

#[test]
fn errors_name_file_line_section_and_key() {
    let err = parse("[avrs]\n[vod]\n\nsegment_target = 90s\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("avrs.ini:4: [vod] segment_target:"),
        "{err}"
    );
    let err = parse("[vod]\nstore = ftp\n").unwrap_err().to_string();
    assert!(
        err.contains("avrs.ini:2") && err.contains("expected local or s3"),
        "{err}"
    );
    let err = parse("[vod]\nstore = s3\n").unwrap_err().to_string();
    assert!(err.contains("needs s3_bucket"), "{err}");
    let err = parse("[vod]\nsgment_target = 2s\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown key \"sgment_target\""), "{err}");
    let err = parse("[record.x]\nmax_age = 1d\n").unwrap_err().to_string();
    assert!(
        err.contains("avrs.ini:1: [record.x] pattern: missing"),
        "{err}"
    );
    let err = parse("[vod]\nstore = s3\ns3_bucket = b\ns3_secret_key_file = /nonexistent/secret\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot read /nonexistent/secret"), "{err}");
}

#[test]
fn s3_settings_and_secret_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "s3cr3t\n").unwrap();
    let path = dir.path().join("avrs.ini");
    let text = "[vod]\nstore = s3\ns3_bucket = media\ns3_endpoint = http://127.0.0.1:9000/\n\
                s3_access_key = AK\ns3_secret_key_file = secret\ns3_allow_http = yes\n";
    let config = avrs_config::Config::from_str_named(text, path.to_str().unwrap()).unwrap();
    let vod = VodConfig::from_config(&config).unwrap();
    let StoreConfig::S3(s3) = &vod.store else {
        panic!("s3 expected")
    };
    assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(s3.secret_key.as_deref(), Some("s3cr3t"));
    assert!(s3.allow_http);
    assert!(!format!("{s3:?}").contains("s3cr3t"));
}
