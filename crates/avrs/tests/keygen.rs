//! `avrs keygen` end to end: the built binary in a temporary directory.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn avrs(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the avrs binary runs")
}

/// The `name: value` lines of a successful run.
fn fields(output: &Output) -> Vec<(String, String)> {
    assert!(
        output.status.success(),
        "avrs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout.clone()).expect("UTF-8 output");
    text.lines()
        .map(|line| {
            let (name, value) = line.split_once(": ").expect("name: value");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    &fields
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} line"))
        .1
}

fn stderr(output: &Output) -> String {
    assert!(!output.status.success(), "avrs should have failed");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn generates_both_algorithms_with_mode_0600_and_consistent_output() {
    let dir = tempfile::tempdir().unwrap();
    for (alg, key_len) in [("ed25519", 32), ("ml-dsa-65", 1952)] {
        let file = format!("{alg}.key");
        let made = fields(&avrs(&["keygen", "--alg", alg, "--out", &file], dir.path()));
        let names: Vec<&str> = made.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["algorithm", "public_key", "id", "node_addr"]);
        assert_eq!(field(&made, "algorithm"), alg);

        let public = hex::decode(field(&made, "public_key")).unwrap();
        assert_eq!(public.len(), key_len);
        let id = avrs_crypto::sha3_256(&public);
        assert_eq!(field(&made, "id"), id.to_hex());
        assert_eq!(
            field(&made, "node_addr"),
            avrs_crypto::NodeAddr::from_key_hash(&id).to_string()
        );

        let mode = fs::metadata(dir.path().join(&file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{alg}: mode {mode:o}");

        // --show reads the same key back.
        let shown = fields(&avrs(&["keygen", "--show", &file], dir.path()));
        assert_eq!(shown, made);
    }
}

#[test]
fn refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["keygen", "--alg", "ed25519", "--out", "node.key"];
    let first = fields(&avrs(&args, dir.path()));
    let err = stderr(&avrs(&args, dir.path()));
    assert!(err.contains("node.key") && err.contains("--force"), "{err}");
    let kept = fields(&avrs(&["keygen", "--show", "node.key"], dir.path()));
    assert_eq!(field(&kept, "id"), field(&first, "id"));

    let forced = fields(&avrs(
        &["keygen", "--alg", "ed25519", "--out", "node.key", "--force"],
        dir.path(),
    ));
    assert_ne!(field(&forced, "id"), field(&first, "id"));
    let now = fields(&avrs(&["keygen", "--show", "node.key"], dir.path()));
    assert_eq!(field(&now, "id"), field(&forced, "id"));
}

#[test]
fn a_damaged_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    fields(&avrs(
        &["keygen", "--alg", "ml-dsa-65", "--out", "node.key"],
        dir.path(),
    ));
    let path = dir.path().join("node.key");
    let mut text = fs::read(&path).unwrap();
    let at = text.len() / 2;
    text[at] = if text[at] == b'A' { b'B' } else { b'A' };
    fs::write(&path, &text).unwrap();
    let err = stderr(&avrs(&["keygen", "--show", "node.key"], dir.path()));
    assert!(err.contains("node.key") && err.contains("damaged"), "{err}");
}

#[test]
fn a_file_readable_by_others_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    fields(&avrs(
        &["keygen", "--alg", "ed25519", "--out", "node.key"],
        dir.path(),
    ));
    let path = dir.path().join("node.key");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let err = stderr(&avrs(&["keygen", "--show", "node.key"], dir.path()));
    assert!(err.contains("node.key"), "{err}");
    assert!(err.contains("0644"), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
}

#[test]
fn unknown_algorithms_and_missing_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = stderr(&avrs(
        &["keygen", "--alg", "rsa", "--out", "x.key"],
        dir.path(),
    ));
    assert!(err.contains("rsa") && err.contains("ed25519"), "{err}");
    assert!(!dir.path().join("x.key").exists());
    let err = stderr(&avrs(&["keygen", "--show", "absent.key"], dir.path()));
    assert!(err.contains("absent.key"), "{err}");
}
