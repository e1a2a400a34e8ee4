//! 90 kHz durations written as playlist seconds.

use crate::TIMESCALE;

/// Ticks in one second.
pub(crate) const SECOND: u64 = TIMESCALE as u64;

/// Five decimals, rounded half up, from integers only: the same ticks
/// always print the same text, and a sum of parts stays within a few
/// hundred-thousandths of its segment.
pub(crate) fn seconds(ticks: u64) -> String {
    let units = (u128::from(ticks) * 100_000 + u128::from(SECOND / 2)) / u128::from(SECOND);
    format!("{}.{:05}", units / 100_000, units % 100_000)
}

/// Whole seconds rounded half up, as EXT-X-TARGETDURATION compares them
/// (RFC 8216bis §4.4.3.1: "rounded to the nearest integer").
pub(crate) fn rounded_seconds(ticks: u64) -> u64 {
    ticks / SECOND + u64::from(ticks % SECOND >= SECOND / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_five_decimals() {
        assert_eq!(seconds(0), "0.00000");
        assert_eq!(seconds(45_000), "0.50000");
        assert_eq!(seconds(3003), "0.03337");
        assert_eq!(seconds(180_000), "2.00000");
        assert_eq!(seconds(1), "0.00001");
        assert_eq!(seconds(u64::MAX), "204963823041217.24017");
    }

    #[test]
    fn rounds_half_up_to_whole_seconds() {
        assert_eq!(rounded_seconds(0), 0);
        assert_eq!(rounded_seconds(44_999), 0);
        assert_eq!(rounded_seconds(45_000), 1);
        assert_eq!(rounded_seconds(224_999), 2);
        assert_eq!(rounded_seconds(225_000), 3);
    }
}
