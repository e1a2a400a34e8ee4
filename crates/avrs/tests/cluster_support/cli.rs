//! Running the `avrs` command line from a test.

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

pub use crate::support::Reaped;
