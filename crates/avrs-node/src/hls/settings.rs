//! How streams are packaged and served, and why these values.

use avrs_media::hls::PackagerConfig;
use std::time::Duration;

/// How streams are packaged and served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlsSettings {
    /// Part and segment durations, window. See [`HlsSettings::default`].
    pub packager: PackagerConfig,
    /// How long an ended stream stays servable, so players that poll late
    /// still see EXT-X-ENDLIST and can fetch the last segments.
    pub linger: Duration,
}

impl Default for HlsSettings {
    /// - PART-TARGET 0.35 s: PART-HOLD-BACK is then 1.05 s, so LL-HLS players
    ///   sit about 1.2–1.5 s behind the publisher. 0.35 s rather than the
    ///   usual 1/3 s because millisecond RTMP timestamps make ten 30 fps
    ///   frames last 333 *or* 334 ms: at 0.35 s every common rate (10 to
    ///   60 fps, NTSC rates included) fills parts to at least 85 % of the
    ///   target, as RFC 8216bis §4.4.4.9 asks.
    /// - Segments end at the first keyframe after 1.9 s, EXT-X-TARGETDURATION
    ///   2: a 2 s keyframe interval (OBS's recommended setting) gives 2 s
    ///   segments even when a GOP comes out a frame short, and any interval
    ///   up to 2.5 s keeps segments starting on keyframes.
    /// - Six segments (12 s) listed: plain HLS players start three segments
    ///   from the end, and a late player of an ended stream gets it whole
    ///   when it lasted under 12 s.
    /// - An ended stream stays 30 s.
    fn default() -> Self {
        Self {
            packager: PackagerConfig {
                part_target: Duration::from_millis(350),
                segment_target: Duration::from_millis(1900),
                target_duration: None,
                window: 6,
                ..PackagerConfig::default()
            },
            linger: Duration::from_secs(30),
        }
    }
}

impl HlsSettings {
    /// EXT-X-TARGETDURATION the packager will use, in seconds.
    pub fn target_duration(&self) -> u64 {
        let rounded_up = self.packager.segment_target.as_millis().div_ceil(1000);
        self.packager
            .target_duration
            .map_or(rounded_up as u64, u64::from)
    }

    /// How long a blocking request is held: three target durations
    /// (RFC 8216bis §6.2.5.2), then 503.
    pub fn hold_limit(&self) -> Duration {
        Duration::from_secs(3 * self.target_duration())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_limit_is_three_target_durations() {
        let settings = HlsSettings::default();
        assert_eq!(settings.target_duration(), 2);
        assert_eq!(settings.hold_limit(), Duration::from_secs(6));
        let explicit = HlsSettings {
            packager: PackagerConfig {
                target_duration: Some(4),
                ..settings.packager.clone()
            },
            ..settings
        };
        assert_eq!(explicit.hold_limit(), Duration::from_secs(12));
    }
}
