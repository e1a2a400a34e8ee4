//! Tests of the whole path: text → `Config`, errors, overrides, round trips.

mod errors;
mod key_table;
mod overrides;
mod round_trip;
mod sample;

use crate::{Config, ConfigError};

/// Reads `text` as a file called `avrs.ini` (no directory).
fn read(text: &str) -> Result<Config, ConfigError> {
    Config::from_str_named(text, "avrs.ini")
}

/// Reads `[avrs]` followed by `line`, which is then line 2.
fn read_line(line: &str) -> Result<Config, ConfigError> {
    read(&format!("[avrs]\n{line}\n"))
}
