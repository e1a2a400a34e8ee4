//! Numbers with units: sizes (1024-based), bit rates (1000-based) and
//! durations.

use super::Problem;
use std::time::Duration;

/// An inclusive range of a unit-carrying value, with the words that describe
/// it in an error.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    pub min: u64,
    pub max: u64,
    /// What to say after "expected", such as "a size from 4 KiB to 64 MiB".
    pub expected: &'static str,
}

impl Range {
    fn check(&self, value: Option<u64>) -> Result<u64, Problem> {
        value
            .filter(|v| (self.min..=self.max).contains(v))
            .ok_or_else(|| Problem::expected(self.expected))
    }
}

/// Splits `"64 KiB"` into `(64, "kib")`: leading digits, then the unit in
/// lower case with white space between them allowed. `None` if there are no
/// digits or the number does not fit in a `u64`.
fn number_and_unit(text: &str) -> Option<(u64, String)> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number = text[..digits_end].parse().ok()?;
    Some((number, text[digits_end..].trim_start().to_ascii_lowercase()))
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

/// A size in bytes: bare bytes, or `k`/`KiB` (×1024) or `M`/`MiB` (×1024²),
/// unit in any case.
pub(crate) fn byte_size(text: &str, range: Range) -> Result<u64, Problem> {
    let bytes = number_and_unit(text).and_then(|(number, unit)| {
        let scale = match unit.as_str() {
            "" => 1,
            "k" | "kib" => KIB,
            "m" | "mib" => MIB,
            _ => return None,
        };
        number.checked_mul(scale)
    });
    range.check(bytes)
}

/// The shortest exact form: `64KiB`, `1MiB` or bare bytes.
pub(crate) fn write_size(bytes: u64) -> String {
    match bytes {
        0 => "0".to_owned(),
        b if b.is_multiple_of(MIB) => format!("{}MiB", b / MIB),
        b if b.is_multiple_of(KIB) => format!("{}KiB", b / KIB),
        b => b.to_string(),
    }
}

/// `(unit as read in lower case, unit as written, scale)`.
const BITRATE_UNITS: [(&str, &str, u64); 4] = [
    ("", "", 1),
    ("k", "k", 1_000),
    ("m", "M", 1_000_000),
    ("g", "G", 1_000_000_000),
];

/// Bits per second: bare, or with `k`, `M`, `G` (×1000, any case), then
/// optionally `bit`, `bps` or `bit/s`: `2500k`, `10M`, `10Mbit`.
pub(crate) fn bitrate(text: &str, range: Range) -> Result<u64, Problem> {
    let bits = number_and_unit(text).and_then(|(number, unit)| {
        let prefix = ["bit/s", "bps", "bit"]
            .iter()
            .find_map(|suffix| unit.strip_suffix(suffix))
            .unwrap_or(&unit);
        let (_, _, scale) = BITRATE_UNITS.iter().find(|(name, _, _)| *name == prefix)?;
        number.checked_mul(*scale)
    });
    range.check(bits)
}

/// The shortest exact form: `10M`, `2500k` or bare bits per second.
pub(crate) fn write_bitrate(bits: u64) -> String {
    let unit = BITRATE_UNITS
        .iter()
        .rev()
        .find(|(_, _, scale)| bits != 0 && bits.is_multiple_of(*scale));
    match unit {
        Some((_, written, scale)) => format!("{}{written}", bits / scale),
        None => bits.to_string(),
    }
}

const DURATION_UNITS_MS: [(&str, u64); 4] =
    [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];

/// A duration: a bare number of seconds (as in the original config), or a
/// number with `ms`, `s`, `m` (minutes) or `h`, unit in any case.
pub(crate) fn duration(text: &str, range: Range) -> Result<Duration, Problem> {
    let millis = number_and_unit(text).and_then(|(number, unit)| {
        let unit = if unit.is_empty() { "s" } else { unit.as_str() };
        let (_, scale) = DURATION_UNITS_MS.iter().find(|(name, _)| *name == unit)?;
        number.checked_mul(*scale)
    });
    range.check(millis).map(Duration::from_millis)
}

/// The shortest exact form: `2h`, `30s`, `500ms`; `0s` for zero.
pub(crate) fn write_duration(duration: Duration) -> String {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if millis == 0 {
        return "0s".to_owned();
    }
    let (name, scale) = DURATION_UNITS_MS
        .iter()
        .find(|(_, scale)| millis.is_multiple_of(*scale))
        .expect("every whole number of milliseconds is a multiple of 1 ms");
    format!("{}{name}", millis / scale)
}
