//! Messages of file-level errors: exact text, line numbers, file reading.

use super::{read, read_line};
use crate::ini::{MAX_FILE_BYTES, MAX_LINE_BYTES};
use crate::{Config, ConfigError};
use std::io::Write;

#[test]
fn the_message_names_file_line_key_expectation_and_value() {
    let mut text = String::from("[avrs]\n");
    for _ in 0..10 {
        text.push_str("# filler\n");
    }
    text.push_str("max_connections = lots\n");
    assert_eq!(
        read(&text).unwrap_err().to_string(),
        "avrs.ini:12: key 'max_connections': expected a whole number from 1 to 1000000, got 'lots'"
    );
}

#[test]
fn an_unknown_key_gets_a_suggestion_when_one_is_close() {
    let err = read("[avrs]\nrole = host\nmax_conections = 5\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "avrs.ini:3: unknown key 'max_conections' in [avrs]; did you mean 'max_connections'?"
    );
    let err = read_line("colour = blue").unwrap_err();
    assert_eq!(
        err,
        ConfigError::UnknownKey {
            file: "avrs.ini".into(),
            line: 2,
            key: "colour".into(),
            suggestion: None
        }
    );
    let message = err.to_string();
    assert!(
        message.starts_with(
            "avrs.ini:2: unknown key 'colour' in [avrs]; expected one of: role, cluster_id,"
        ),
        "{message}"
    );
    assert!(message.ends_with("rtmps_address"), "{message}");
}

#[test]
fn keys_are_case_sensitive_with_a_hint() {
    let err = read_line("Role = host").unwrap_err();
    assert_eq!(
        err.to_string(),
        "avrs.ini:2: unknown key 'Role' in [avrs]; did you mean 'role'?"
    );
}

#[test]
fn an_unknown_section_is_an_error() {
    for (text, line, section) in [
        ("[avrs]\nrole = host\n\n[server]\nport = 1\n", 4, "server"),
        ("[AVRS]\n", 1, "AVRS"),
        ("[global]\n[avrs]\n", 1, "global"),
    ] {
        let err = read(text).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "avrs.ini:{line}: unknown section [{section}]; expected [avrs], [auth], [vod], [record], [cluster], [policy.NAME] or [record.NAME]"
            )
        );
    }
}

#[test]
fn the_first_error_in_file_order_is_reported() {
    let err = read("[avrs]\nmax_connections = 0\nbuffer_size = 1\n").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("avrs.ini:2: key 'max_connections'"),
        "{err}"
    );
    let err = read("[avrs]\nrole = host\nrole = server\nbuffer_size = 1\n").unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::DuplicateKey {
                line: 3,
                first_line: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn duplicate_sections_and_keys_name_both_lines() {
    let err = read("[avrs]\nrole = host\n[avrs]\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "avrs.ini:3: section [avrs] appears twice; expected it once (first on line 1)"
    );
    let err = read("[avrs]\nrole = host\n# again\nrole = server\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "avrs.ini:4: key 'role' appears twice in [avrs]; expected it once (first on line 2)"
    );
}

#[test]
fn empty_and_comment_only_files_give_the_defaults() {
    for text in [
        "",
        "\n\n",
        "# nothing here\n; nor here\n",
        "[avrs]\n",
        "\u{feff}[avrs]\r\n# c\r\n",
    ] {
        assert_eq!(read(text).unwrap(), Config::default(), "{text:?}");
    }
}

#[test]
fn quotes_comments_crlf_and_bom_work_together() {
    let text = "\u{feff}# avrs\r\n[avrs] ; main\r\nrole = \"host, server\" # both\r\n\
                cluster_id = main_cluster;not-a-comment\r\n";
    let err = read(text).unwrap_err();
    // `;` without white space before it is part of the value.
    assert_eq!(
        err.to_string(),
        "avrs.ini:4: key 'cluster_id': expected a name of 1 to 63 letters, digits, '_', '.' and '-', \
         or a GUUID such as 0123456789ABCDEF-0123456789ABCDEF, got 'main_cluster;not-a-comment'"
    );
    let fixed = text.replace(";not-a-comment", " ;a comment");
    let config = read(&fixed).unwrap();
    assert_eq!(config.roles, crate::Roles::HOST | crate::Roles::SERVER);
    assert_eq!(config.cluster_id.to_string(), "main_cluster");
}

#[test]
fn relative_paths_are_taken_from_the_file_directory() {
    let text = "[avrs]\ncertificate_file = server.crt\nprivate_key_file = /abs/server.key\ndata_dir = data\n";
    let config = Config::from_str_named(text, "/etc/avrs/avrs.ini").unwrap();
    assert_eq!(
        config.certificate_file.unwrap(),
        std::path::Path::new("/etc/avrs/server.crt")
    );
    assert_eq!(
        config.private_key_file.unwrap(),
        std::path::Path::new("/abs/server.key")
    );
    assert_eq!(config.data_dir, std::path::Path::new("/etc/avrs/data"));
    // Not set in the file: the default stays relative to the working directory.
    let config = Config::from_str_named("[avrs]\n", "/etc/avrs/avrs.ini").unwrap();
    assert_eq!(config.data_dir, std::path::Path::new("./avrs-data"));
}

#[test]
fn load_reads_a_file_and_resolves_against_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.ini");
    std::fs::write(
        &path,
        "[avrs]\nrole = server\nca_certificate_file = ca.crt\n",
    )
    .unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.roles, crate::Roles::SERVER);
    assert_eq!(
        config.ca_certificate_file.unwrap(),
        dir.path().join("ca.crt")
    );
}

#[test]
fn load_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.ini");
    let err = Config::load(&missing).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read config file '{}': No such file or directory",
            missing.display()
        )
    );
    let err = Config::load(dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read config file '{}': Is a directory",
            dir.path().display()
        )
    );

    let bad = dir.path().join("bad.ini");
    std::fs::write(&bad, "[avrs]\nbuffer_size = 1\n").unwrap();
    let message = Config::load(&bad).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!(
            "{}:2: key 'buffer_size': expected a size",
            bad.display()
        )),
        "{message}"
    );
}

#[test]
fn load_refuses_oversized_and_non_utf8_files() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.ini");
    let mut file = std::fs::File::create(&big).unwrap();
    let comment_line = format!("#{}\n", "x".repeat(1022));
    for _ in 0..=(MAX_FILE_BYTES / 1024) {
        file.write_all(comment_line.as_bytes()).unwrap();
    }
    drop(file);
    let err = Config::load(&big).unwrap_err();
    assert_eq!(
        err,
        ConfigError::FileTooLarge {
            file: big.display().to_string(),
            limit: MAX_FILE_BYTES
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: expected a config file of at most 1048576 bytes, got a larger one",
            big.display()
        )
    );

    let latin1 = dir.path().join("latin1.ini");
    std::fs::write(&latin1, b"[avrs]\n# caf\xe9\n").unwrap();
    let err = Config::load(&latin1).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:2: expected UTF-8 text, got bytes that are not UTF-8",
            latin1.display()
        )
    );
}

#[test]
fn a_long_line_is_refused_with_its_number() {
    let text = format!("[avrs]\ndata_dir = {}\n", "d".repeat(MAX_LINE_BYTES));
    assert_eq!(
        read(&text).unwrap_err().to_string(),
        format!("avrs.ini:2: expected a line of at most {MAX_LINE_BYTES} bytes, got a longer one")
    );
}

#[test]
fn a_key_outside_any_section_is_an_error() {
    let err = read("role = host\n[avrs]\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "avrs.ini:1: key 'role' comes before any section; expected it under [avrs]"
    );
}

#[test]
fn worker_threads_uses_cpus_for_zero() {
    let cpus = std::num::NonZeroUsize::new(6).unwrap();
    let mut config = Config::default();
    assert_eq!(config.worker_threads(cpus), 6);
    config.thread_pool_size = 3;
    assert_eq!(config.worker_threads(cpus), 3);
}

#[test]
fn extension_sections_are_kept_raw_for_their_layer() {
    let text =
        "[avrs]\nrole = server\n\n[auth]\ntoken_key = k\n\n[policy.night]\nallow = 10.0.0.0/8\n";
    let config = Config::from_str_named(text, "avrs.ini").unwrap();
    let auth = config.extension("auth").expect("[auth] kept");
    assert_eq!(auth.file, "avrs.ini");
    assert_eq!(auth.section.line, 4);
    assert_eq!(auth.section.entries[0].key, "token_key");
    assert_eq!(config.extensions_with_prefix("policy.").count(), 1);
    assert!(config.extension("vod").is_none());
    // They survive to_ini.
    let again = Config::from_str_named(&config.to_ini(), "avrs.ini").unwrap();
    assert_eq!(
        again.extension("policy.night").unwrap().section.entries[0].value,
        "10.0.0.0/8"
    );
    // A bare prefix is no extension: it is an unknown section.
    let error = Config::from_str_named("[policy.]\n", "avrs.ini").unwrap_err();
    assert!(error.to_string().contains("unknown section"), "{error}");
}
