//! The VoD media playlist and the multivariant (master) playlist.

use std::fmt::Write as _;

use super::names::init_name;
use super::playlist::VERSION;
use super::seconds::{rounded_seconds, seconds};
use super::timeline::Segment;
use crate::{MediaError, Result};

/// One segment of a VoD playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VodSegment {
    pub uri: String,
    /// 90 kHz ticks.
    pub duration: u64,
    pub discontinuity: bool,
    /// URI of the init segment it needs.
    pub init_uri: String,
}

impl From<&Segment> for VodSegment {
    fn from(segment: &Segment) -> Self {
        Self {
            uri: segment.name(),
            duration: segment.duration,
            discontinuity: segment.discontinuity,
            init_uri: init_name(segment.init),
        }
    }
}

/// A complete, unchanging playlist (EXT-X-PLAYLIST-TYPE:VOD, ENDLIST). The
/// target duration is the longest segment rounded to nearest, at least 1.
pub fn vod_playlist(segments: &[VodSegment]) -> Result<String> {
    for segment in segments {
        check_uri(&segment.uri)?;
        check_uri(&segment.init_uri)?;
    }
    let longest = segments.iter().map(|s| rounded_seconds(s.duration)).max();
    let target = longest.unwrap_or(1).max(1);
    let mut out = String::with_capacity(128 + 64 * segments.len());
    let _ = writeln!(out, "#EXTM3U");
    let _ = writeln!(out, "#EXT-X-VERSION:{VERSION}");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target}");
    let _ = writeln!(out, "#EXT-X-PLAYLIST-TYPE:VOD");
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:0");
    let mut init: Option<&str> = None;
    for segment in segments {
        if segment.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if init != Some(segment.init_uri.as_str()) {
            let _ = writeln!(out, "#EXT-X-MAP:URI=\"{}\"", segment.init_uri);
            init = Some(&segment.init_uri);
        }
        let _ = writeln!(out, "#EXTINF:{},", seconds(segment.duration));
        let _ = writeln!(out, "{}", segment.uri);
    }
    out.push_str("#EXT-X-ENDLIST\n");
    Ok(out)
}

/// One variant stream of a multivariant playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// URI of its media playlist.
    pub uri: String,
    /// Peak bits per second (RFC 8216bis §4.4.6.2); must be positive.
    pub bandwidth: u64,
    pub average_bandwidth: Option<u64>,
    /// RFC 6381 codec strings, such as `avc1.64001F` and `mp4a.40.2`.
    pub codecs: Vec<String>,
    pub resolution: Option<(u32, u32)>,
    pub frame_rate: Option<f64>,
}

/// The multivariant playlist listing `variants`.
pub fn multivariant_playlist(variants: &[Variant]) -> Result<String> {
    let mut out = String::from("#EXTM3U\n");
    for variant in variants {
        check_variant(variant)?;
        let _ = write!(out, "#EXT-X-STREAM-INF:BANDWIDTH={}", variant.bandwidth);
        if let Some(average) = variant.average_bandwidth {
            let _ = write!(out, ",AVERAGE-BANDWIDTH={average}");
        }
        if !variant.codecs.is_empty() {
            let _ = write!(out, ",CODECS=\"{}\"", variant.codecs.join(","));
        }
        if let Some((width, height)) = variant.resolution {
            let _ = write!(out, ",RESOLUTION={width}x{height}");
        }
        if let Some(rate) = variant.frame_rate {
            let _ = write!(out, ",FRAME-RATE={rate:.3}");
        }
        let _ = writeln!(out, "\n{}", variant.uri);
    }
    Ok(out)
}

fn check_variant(variant: &Variant) -> Result<()> {
    check_uri(&variant.uri)?;
    if variant.bandwidth == 0 {
        return Err(bad("BANDWIDTH", "must be positive".into()));
    }
    let codec_ok = |c: &String| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    if let Some(codec) = variant.codecs.iter().find(|c| !codec_ok(c)) {
        return Err(bad("CODECS", format!("{codec:?} is not an RFC 6381 codec")));
    }
    if let Some(rate) = variant.frame_rate.filter(|r| !r.is_finite() || *r <= 0.0) {
        return Err(bad("FRAME-RATE", format!("{rate}")));
    }
    Ok(())
}

/// A URI fit for a playlist line or quoted-string: non-empty, no quotes,
/// no control characters, no leading `#` (a comment line).
fn check_uri(uri: &str) -> Result<()> {
    let fit = !uri.is_empty()
        && !uri.starts_with('#')
        && !uri
            .chars()
            .any(|c| c == '"' || c.is_control() || c.is_whitespace());
    if fit {
        Ok(())
    } else {
        Err(bad("URI", format!("{uri:?}")))
    }
}

fn bad(what: &'static str, reason: String) -> MediaError {
    MediaError::Malformed { what, reason }
}
