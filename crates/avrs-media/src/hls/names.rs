//! The URL scheme of a packaged stream, relative to its playlist:
//!
//! | resource | name | number |
//! |---|---|---|
//! | init segment | `init{n}.mp4` | 0, then +1 whenever a discontinuity changes the codecs |
//! | segment | `seg{msn}.m4s` | its Media Sequence Number |
//! | part | `part{n}.m4s` | counts every part of the stream from 0 |
//!
//! Parts are numbered across segments, not as `{msn}.{index}`, because the
//! packager hints the next part before it knows whether a keyframe will make
//! it the first part of a new segment: its name must not depend on that.

use std::fmt::Write as _;

/// Content type of playlists (RFC 8216 §4).
pub const PLAYLIST_CONTENT_TYPE: &str = "application/vnd.apple.mpegurl";
/// Content type of init segments, segments and parts.
pub const MP4_CONTENT_TYPE: &str = "video/mp4";

/// A resource of a packaged stream, named by its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    Init(u32),
    Segment(u64),
    Part(u64),
}

impl Resource {
    /// Parses a name of the scheme; `None` for anything else, including
    /// numbers with leading zeros (each resource has exactly one name).
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(n) = number_between(name, "init", ".mp4") {
            return u32::try_from(n).ok().map(Self::Init);
        }
        if let Some(n) = number_between(name, "seg", ".m4s") {
            return Some(Self::Segment(n));
        }
        number_between(name, "part", ".m4s").map(Self::Part)
    }

    /// The name of the resource, as it appears in playlists.
    pub fn name(self) -> String {
        let mut out = String::with_capacity(24);
        let _ = match self {
            Self::Init(n) => write!(out, "init{n}.mp4"),
            Self::Segment(n) => write!(out, "seg{n}.m4s"),
            Self::Part(n) => write!(out, "part{n}.m4s"),
        };
        out
    }
}

/// `init{n}.mp4`
pub fn init_name(id: u32) -> String {
    Resource::Init(id).name()
}

/// `seg{msn}.m4s`
pub fn segment_name(msn: u64) -> String {
    Resource::Segment(msn).name()
}

/// `part{n}.m4s`
pub fn part_name(number: u64) -> String {
    Resource::Part(number).name()
}

fn number_between(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    let canonical = !digits.is_empty()
        && digits.len() <= 20
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if canonical { digits.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for resource in [
            Resource::Init(0),
            Resource::Init(u32::MAX),
            Resource::Segment(17),
            Resource::Part(u64::MAX),
        ] {
            assert_eq!(Resource::parse(&resource.name()), Some(resource));
        }
        assert_eq!(segment_name(3), "seg3.m4s");
        assert_eq!(part_name(12), "part12.m4s");
        assert_eq!(init_name(1), "init1.mp4");
    }

    #[test]
    fn foreign_names_are_rejected() {
        for name in [
            "seg.m4s",
            "seg01.m4s",
            "seg-1.m4s",
            "seg+1.m4s",
            "seg1.mp4",
            "init1.m4s",
            "init4294967296.mp4",
            "part18446744073709551616.m4s",
            "part1.m4s/",
            "index.m3u8",
            "",
        ] {
            assert_eq!(Resource::parse(name), None, "{name}");
        }
    }
}
