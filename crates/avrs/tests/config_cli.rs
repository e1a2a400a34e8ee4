//! `avrs serve --check`: the effective configuration from defaults, files
//! and flags, and the errors a user sees.

use avrs_config::Config;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn serve_check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avrs"))
        .arg("serve")
        .arg("--check")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run avrs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr")
}

/// Checks success and reads the printed configuration back.
fn printed_config(output: &Output) -> Config {
    assert!(output.status.success(), "stderr: {}", stderr(output));
    Config::from_str_named(&stdout(output), "stdout.ini")
        .unwrap_or_else(|e| panic!("printed config does not read back: {e}\n{}", stdout(output)))
}

fn sample_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/avrs.sample.ini")
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("node.ini");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn without_a_config_the_defaults_are_printed() {
    let output = serve_check(&[]);
    assert_eq!(printed_config(&output), Config::default());
    let text = stdout(&output);
    assert!(text.contains("\nrole = host,server,balancer\n"), "{text}");
    assert!(text.contains("built-in defaults"), "{text}");
}

#[test]
fn the_sample_config_checks_and_prints_its_values() {
    let sample = sample_path();
    let output = serve_check(&["--config", sample.to_str().unwrap()]);
    let printed = printed_config(&output);
    assert_eq!(printed, Config::load(&sample).unwrap());
    assert!(stdout(&output).contains("\ncluster_id = main_cluster\n"));
}

#[test]
fn a_bad_file_names_file_line_key_and_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "[avrs]\nrole = server\nmax_connections = lots\n",
    );
    let output = serve_check(&["--config", path.to_str().unwrap()]);
    assert!(!output.status.success());
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    let want = format!(
        "{}:3: key 'max_connections': expected a whole number from 1 to 1000000, got 'lots'",
        path.display()
    );
    assert!(message.contains(&want), "{message}");
    assert!(
        stdout(&output).is_empty(),
        "nothing is printed for a bad config"
    );
}

#[test]
fn a_missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.ini");
    let output = serve_check(&["--config", path.to_str().unwrap()]);
    assert!(!output.status.success());
    let want = format!(
        "cannot read config file '{}': No such file or directory",
        path.display()
    );
    assert!(stderr(&output).contains(&want), "{}", stderr(&output));
}

#[test]
fn flags_override_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "[avrs]\nmax_connections = 10\nrole = server\ndebug_more = false\n",
    );
    let output = serve_check(&[
        "--config",
        path.to_str().unwrap(),
        "--max-connections",
        "20",
        "--rtmp",
        "127.0.0.1:0",
        "--role",
        "host,server",
        "--heartbeat-interval",
        "500ms",
        "--debug",
    ]);
    let config = printed_config(&output);
    assert_eq!(config.max_connections, 20);
    assert_eq!(config.rtmp_address, "127.0.0.1:0".parse().unwrap());
    assert_eq!(config.roles.to_string(), "host,server");
    assert_eq!(
        config.heartbeat_interval,
        std::time::Duration::from_millis(500)
    );
    assert!(config.debug_more);
    // Not overridden: from the file or the defaults.
    assert_eq!(config.http_address, Config::default().http_address);
}

#[test]
fn a_bad_flag_names_the_flag_and_expectation() {
    let output = serve_check(&["--max-connections", "0"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("--max-connections: expected a whole number from 1 to 1000000, got '0'"),
        "{message}"
    );
}
