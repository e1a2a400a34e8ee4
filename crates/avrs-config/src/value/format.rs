//! Media formats a node accepts (`supported_formats`).

use super::Problem;
use std::fmt;

/// A codec or container the node may accept and serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaFormat {
    H264,
    /// Also read as `hevc`.
    H265,
    Aac,
    Opus,
    Vp8,
    Vp9,
    Av1,
    Webm,
    Mp4,
    Flv,
    /// MPEG transport stream.
    Ts,
}

impl MediaFormat {
    /// Every format, in the order the docs list them.
    pub const ALL: [MediaFormat; 11] = [
        Self::H264,
        Self::H265,
        Self::Aac,
        Self::Opus,
        Self::Vp8,
        Self::Vp9,
        Self::Av1,
        Self::Webm,
        Self::Mp4,
        Self::Flv,
        Self::Ts,
    ];

    /// The canonical lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::H264 => "h264",
            Self::H265 => "h265",
            Self::Aac => "aac",
            Self::Opus => "opus",
            Self::Vp8 => "vp8",
            Self::Vp9 => "vp9",
            Self::Av1 => "av1",
            Self::Webm => "webm",
            Self::Mp4 => "mp4",
            Self::Flv => "flv",
            Self::Ts => "ts",
        }
    }

    /// A name or alias in any case.
    fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("hevc") {
            return Some(Self::H265);
        }
        Self::ALL
            .into_iter()
            .find(|f| name.eq_ignore_ascii_case(f.name()))
    }
}

impl fmt::Display for MediaFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const FORMATS_EXPECTED: &str = "a comma-separated list of formats, each once, from: \
     h264, h265 (or hevc), aac, opus, vp8, vp9, av1, webm, mp4, flv, ts";

/// Reads `h264, aac ,webm`: at least one known format, none twice, order kept.
pub(crate) fn format_list(text: &str) -> Result<Vec<MediaFormat>, Problem> {
    let mut formats = Vec::new();
    for item in text.split(',').map(str::trim) {
        let problem = |part: &str| Problem {
            expected: FORMATS_EXPECTED.to_owned(),
            part: Some(part.to_owned()),
        };
        let format = MediaFormat::from_name(item).ok_or_else(|| problem(item))?;
        if formats.contains(&format) {
            return Err(problem(item));
        }
        formats.push(format);
    }
    Ok(formats)
}

/// `h264,aac,webm`.
pub(crate) fn write_format_list(formats: &[MediaFormat]) -> String {
    let names: Vec<&str> = formats.iter().map(|f| f.name()).collect();
    names.join(",")
}
