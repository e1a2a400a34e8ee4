//! Whole-file demuxing for VoD import: a container's bytes to codec
//! configurations and frames in the shared model.
//!
//! - [`detect`]: which container the first bytes announce.
//! - [`demux`]: bytes to a [`Demuxed`], or a [`MediaError`] naming the
//!   problem (unsupported codec, truncated box, corrupt header …).
//!
//! Every demuxer is sans-IO and works on the whole file in memory; the
//! caller bounds the file size. H.264 and AAC are the codecs the stored form
//! keeps; anything else is refused with [`MediaError::Unsupported`] naming
//! the codec.

mod assemble;
mod flv_file;
mod mkv;
mod mp4;
mod ts;

use crate::error::{MediaError, Result};
use crate::frame::{AudioConfig, MediaFrame, TrackKind, VideoConfig};

/// The containers import understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    Mp4,
    Matroska,
    WebM,
    Flv,
    MpegTs,
}

impl Container {
    /// A short lower-case name for messages and metadata.
    pub const fn name(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Matroska => "matroska",
            Container::WebM => "webm",
            Container::Flv => "flv",
            Container::MpegTs => "mpegts",
        }
    }
}

/// A demuxed file: configurations, and every frame of both tracks in
/// decode order (interleaved by `dts`), times starting near 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demuxed {
    pub container: Container,
    pub video: Option<VideoConfig>,
    pub audio: Option<AudioConfig>,
    pub frames: Vec<MediaFrame>,
}

impl Demuxed {
    /// From the first frame's start to the last frame's end, in 90 kHz
    /// ticks (the last frame of a track lasts as long as the one before it).
    pub fn duration(&self) -> u64 {
        [TrackKind::Video, TrackKind::Audio]
            .into_iter()
            .map(|track| track_span(&self.frames, track))
            .max()
            .unwrap_or(0)
    }
}

fn track_span(frames: &[MediaFrame], track: TrackKind) -> u64 {
    let mut times = frames.iter().filter(|f| f.track == track).map(|f| f.dts);
    let Some(first) = times.next() else { return 0 };
    let (mut previous, mut last) = (first, first);
    for dts in times {
        previous = last;
        last = dts;
    }
    let step = last - previous;
    u64::try_from(last - first + step).unwrap_or(0)
}

/// The container the first bytes of a file announce, if any.
pub fn detect(head: &[u8]) -> Option<Container> {
    if head.starts_with(b"FLV") {
        return Some(Container::Flv);
    }
    if head.len() >= 8 && matches!(&head[4..8], b"ftyp" | b"moov" | b"mdat" | b"free" | b"skip") {
        return Some(Container::Mp4);
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        // EBML; the DocType decides between Matroska and WebM.
        let webm = head.windows(4).take(64).any(|w| w == b"webm");
        return Some(if webm {
            Container::WebM
        } else {
            Container::Matroska
        });
    }
    if head.first() == Some(&0x47) && (head.len() < 189 || head[188] == 0x47) {
        return Some(Container::MpegTs);
    }
    None
}

/// Demuxes a whole file.
pub fn demux(data: &[u8]) -> Result<Demuxed> {
    match detect(data) {
        Some(Container::Flv) => flv_file::demux(data),
        Some(Container::Mp4) => mp4::demux(data),
        Some(Container::Matroska | Container::WebM) => mkv::demux(data),
        Some(Container::MpegTs) => ts::demux(data),
        None => Err(MediaError::Unsupported {
            what: "container",
            detail: "not MP4, Matroska/WebM, FLV or MPEG-TS (unknown first bytes)".into(),
        }),
    }
}

/// Sorts frames into decode order (stable, so same-time frames keep their
/// order) and shifts times so the earliest `pts`/`dts` is 0.
pub(crate) fn normalise(frames: &mut [MediaFrame]) {
    frames.sort_by_key(|f| f.dts);
    let origin = frames.iter().map(|f| f.dts.min(f.pts)).min().unwrap_or(0);
    for frame in frames.iter_mut() {
        frame.dts -= origin;
        frame.pts -= origin;
    }
}

#[cfg(test)]
pub(crate) mod tests;
