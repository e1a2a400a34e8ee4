//! Settings of the live packager and their checks.

use std::time::Duration;

use super::seconds::SECOND;
use crate::{MediaError, Result};

/// How the packager cuts and keeps the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagerConfig {
    /// Longest part (LL-HLS PART-TARGET). 100 ms to 5 s, at most
    /// `segment_target`. Parts are cut at frame boundaries at or under it.
    pub part_target: Duration,
    /// A segment ends at the first keyframe once it is this long. 500 ms to
    /// 30 s.
    pub segment_target: Duration,
    /// EXT-X-TARGETDURATION in seconds; `None` is `segment_target` rounded
    /// up. It never changes during a stream (RFC 8216bis §6.2.1), so a
    /// segment still without keyframe is cut where keeping it longer would
    /// break it. At most 60.
    pub target_duration: Option<u32>,
    /// Completed segments kept and listed; at least 2. More stay while the
    /// window is shorter than three target durations (RFC 8216bis §6.2.2),
    /// up to twice this count.
    pub window: usize,
    /// A track whose timestamps jump by more than this (a publisher that
    /// restarted its clock) starts a new period after a discontinuity.
    pub max_timestamp_jump: Duration,
    /// Bytes of media after which a part is cut early. 64 KiB to 64 MiB.
    pub max_part_bytes: usize,
    /// Bytes of media after which a segment is cut early. At least
    /// `max_part_bytes`, at most 256 MiB.
    pub max_segment_bytes: usize,
}

impl Default for PackagerConfig {
    fn default() -> Self {
        Self {
            part_target: Duration::from_millis(500),
            segment_target: Duration::from_secs(2),
            target_duration: None,
            window: 6,
            max_timestamp_jump: Duration::from_secs(10),
            max_part_bytes: 8 * 1024 * 1024,
            max_segment_bytes: 32 * 1024 * 1024,
        }
    }
}

/// The checked settings, in 90 kHz ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) part_target: u64,
    pub(crate) segment_target: u64,
    pub(crate) target_duration: u32,
    pub(crate) window: usize,
    pub(crate) max_segments: usize,
    pub(crate) max_jump: i64,
    pub(crate) max_part_bytes: usize,
    pub(crate) max_segment_bytes: usize,
}

impl Settings {
    /// A segment this long or longer would round above the target duration.
    pub(crate) fn segment_limit(&self) -> u64 {
        u64::from(self.target_duration) * SECOND + SECOND / 2
    }
}

impl PackagerConfig {
    pub(crate) fn settings(&self) -> Result<Settings> {
        let part_target = ticks(self.part_target);
        let segment_target = ticks(self.segment_target);
        within("part_target", part_target, SECOND / 10, 5 * SECOND)?;
        within("segment_target", segment_target, SECOND / 2, 30 * SECOND)?;
        within("part_target", part_target, 0, segment_target)?;
        let rounded_up = segment_target.div_ceil(SECOND);
        let target_duration = self.target_duration.map_or(rounded_up, u64::from);
        within("target_duration", target_duration, rounded_up, 60)?;
        within("window", self.window as u64, 2, 10_000)?;
        let max_jump = ticks(self.max_timestamp_jump);
        within("max_timestamp_jump", max_jump, SECOND, 3600 * SECOND)?;
        let part_bytes = self.max_part_bytes as u64;
        within("max_part_bytes", part_bytes, 64 * 1024, 64 * 1024 * 1024)?;
        within(
            "max_segment_bytes",
            self.max_segment_bytes as u64,
            part_bytes,
            256 * 1024 * 1024,
        )?;
        Ok(Settings {
            part_target,
            segment_target,
            target_duration: target_duration as u32, // <= 60
            window: self.window,
            max_segments: self.window * 2,
            max_jump: max_jump as i64, // <= one hour of ticks
            max_part_bytes: self.max_part_bytes,
            max_segment_bytes: self.max_segment_bytes,
        })
    }
}

fn ticks(duration: Duration) -> u64 {
    let ticks = duration.as_nanos() * u128::from(SECOND) / 1_000_000_000;
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

fn within(what: &'static str, value: u64, min: u64, max: u64) -> Result<()> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(MediaError::Unsupported {
            what,
            detail: format!("{value} outside {min}..={max} (durations in 90 kHz ticks)"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_convert_to_ticks() {
        let s = PackagerConfig::default().settings().unwrap();
        assert_eq!(s.part_target, 45_000);
        assert_eq!(s.segment_target, 180_000);
        assert_eq!(s.target_duration, 2);
        assert_eq!(s.segment_limit(), 225_000);
        assert_eq!(s.max_segments, 12);
        assert_eq!(s.max_jump, 900_000);
    }

    #[test]
    fn target_duration_rounds_the_segment_target_up() {
        let config = PackagerConfig {
            segment_target: Duration::from_millis(2_100),
            ..PackagerConfig::default()
        };
        assert_eq!(config.settings().unwrap().target_duration, 3);
    }

    #[test]
    fn each_setting_is_range_checked() {
        let base = PackagerConfig::default();
        let bad = [
            PackagerConfig {
                part_target: Duration::from_millis(50),
                ..base.clone()
            },
            PackagerConfig {
                part_target: Duration::from_secs(3),
                ..base.clone()
            },
            PackagerConfig {
                segment_target: Duration::from_secs(31),
                ..base.clone()
            },
            PackagerConfig {
                target_duration: Some(1),
                ..base.clone()
            },
            PackagerConfig {
                target_duration: Some(61),
                ..base.clone()
            },
            PackagerConfig {
                window: 1,
                ..base.clone()
            },
            PackagerConfig {
                max_timestamp_jump: Duration::ZERO,
                ..base.clone()
            },
            PackagerConfig {
                max_part_bytes: 1,
                ..base.clone()
            },
            PackagerConfig {
                max_segment_bytes: 1024 * 1024,
                max_part_bytes: 2 * 1024 * 1024,
                ..base.clone()
            },
        ];
        for config in bad {
            assert!(
                matches!(config.settings(), Err(MediaError::Unsupported { .. })),
                "{config:?}"
            );
        }
    }
}
