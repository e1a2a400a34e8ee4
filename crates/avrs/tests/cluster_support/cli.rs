//! Running the `avrs` command line from a test.

use std::path::Path;
use std::process::{Command, Output};

/// `avrs ARGS`, without the caller's AVRS_TOKEN / AVRS_TOTP (the test
/// gives its own).
pub fn avrs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(args)
        .env_remove("AVRS_TOKEN")
        .env_remove("AVRS_TOTP")
        .output()
        .expect("run avrs")
}

/// The standard output of a command that must have succeeded.
pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A ten-minute token of `role` for subject `subject`, for every content,
/// issued with the key of the node configured by `config`.
pub fn token(config: &Path, role: &str, subject: &str) -> String {
    let out = ok(&avrs(&[
        "token",
        "issue",
        "--config",
        config.to_str().unwrap(),
        "--role",
        role,
        "--content",
        "*",
        "--ttl",
        "10m",
        "--subject",
        subject,
    ]));
    out.lines().last().unwrap().trim().to_owned()
}

pub use crate::support::Reaped;
