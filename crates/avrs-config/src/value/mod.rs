//! Readers (and writers) for the kinds of values a config key can hold.
//!
//! Each reader takes the text of one value and returns the typed value or a
//! [`Problem`] that says what was expected; the caller adds where the value
//! came from and which key it belongs to.

mod address;
mod cluster_id;
mod format;
mod path;
#[cfg(test)]
mod tests;
mod units;

pub use address::{Host, HostPort};
pub(crate) use address::{host_port, listen_address};
pub use cluster_id::ClusterId;
pub(crate) use cluster_id::cluster_id;
pub use format::MediaFormat;
pub(crate) use format::{format_list, write_format_list};
pub(crate) use path::file_path;
pub(crate) use units::{
    Range, bitrate, byte_size, duration, write_bitrate, write_duration, write_size,
};

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// What the key accepts, worded to follow "expected".
    pub expected: String,
    /// The part of the value at fault, when it is not the whole value.
    pub part: Option<String>,
}

impl Problem {
    pub(crate) fn expected(expected: impl Into<String>) -> Self {
        Self {
            expected: expected.into(),
            part: None,
        }
    }
}

/// `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`, in any case.
pub(crate) fn boolean(text: &str) -> Result<bool, Problem> {
    const TRUE: [&str; 4] = ["true", "yes", "on", "1"];
    const FALSE: [&str; 4] = ["false", "no", "off", "0"];
    let is = |words: [&str; 4]| words.iter().any(|w| text.eq_ignore_ascii_case(w));
    if is(TRUE) {
        Ok(true)
    } else if is(FALSE) {
        Ok(false)
    } else {
        Err(Problem::expected(
            "true or false (also yes/no, on/off, 1/0)",
        ))
    }
}

/// Decimal digits only (no sign, no separators), within `min..=max`.
pub(crate) fn whole_number(text: &str, min: u64, max: u64) -> Result<u64, Problem> {
    let bad = || Problem::expected(format!("a whole number from {min} to {max}"));
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    // Digits only, so a failure here is an overflow: out of range as well.
    let number: u64 = text.parse().map_err(|_| bad())?;
    if (min..=max).contains(&number) {
        Ok(number)
    } else {
        Err(bad())
    }
}
