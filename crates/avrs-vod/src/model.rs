//! What the library stores per content (one JSON row in redb, also written
//! as `ID/meta.json` beside the media) and what the API lists.

use crate::id::VodId;
use avrs_media::{AudioConfig, TIMESCALE, VideoConfig};
use serde::{Deserialize, Serialize};

/// One VoD content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VodItem {
    pub id: VodId,
    pub title: String,
    /// What retention rules match: the stream name of a recording
    /// (`live/show`), `import` (or the name given) for an import.
    pub name: String,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    /// Milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// 90 kHz ticks.
    pub duration: u64,
    pub origin: Origin,
    /// A recording cut short by a crash, recovered at the next start.
    pub partial: bool,
    /// Bytes of media stored (init segments and segments).
    pub bytes: u64,
    pub renditions: Vec<Rendition>,
}

impl VodItem {
    pub fn duration_seconds(&self) -> f64 {
        self.duration as f64 / f64::from(TIMESCALE)
    }
}

/// Where a content came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    Import {
        container: String,
        file: Option<String>,
    },
    Recording {
        stream: String,
    },
}

/// One encoding of the content (today every content has one; the model and
/// the master playlist allow more).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rendition {
    pub video: Option<VideoInfo>,
    pub audio: Option<AudioInfo>,
    /// Peak and average bits per second over the segments.
    pub peak_bandwidth: u64,
    pub average_bandwidth: u64,
    pub segments: Vec<SegmentInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoInfo {
    pub codec: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioInfo {
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u8,
}

impl VideoInfo {
    pub fn of(config: &VideoConfig) -> Self {
        Self {
            codec: config.codec.clone(),
            width: config.width,
            height: config.height,
        }
    }
}

impl AudioInfo {
    pub fn of(config: &AudioConfig) -> Self {
        Self {
            codec: config.codec.clone(),
            sample_rate: config.sample_rate,
            channels: config.channels,
        }
    }
}

/// One stored segment: object `ID/seg{seq}.m4s`, decoded with
/// `ID/init{init}.mp4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentInfo {
    pub seq: u32,
    /// Start in the content's timeline, 90 kHz ticks.
    pub start: u64,
    pub duration: u64,
    pub bytes: u64,
    pub init: u32,
    /// Follows a publisher reconnect with other codec settings.
    pub discontinuity: bool,
}

/// What the caller of an import says about the content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportMeta {
    pub title: Option<String>,
    /// Retention name; `import` when not given.
    pub name: Option<String>,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    /// The file name it came from (shown, never used as a path).
    pub file: Option<String>,
}

/// The object name of a segment and of an init segment.
pub fn segment_object(seq: u32) -> String {
    format!("seg{seq}.m4s")
}

pub fn init_object(init: u32) -> String {
    format!("init{init}.mp4")
}

/// Peak and average bits per second of `segments`.
pub fn bandwidths(segments: &[SegmentInfo]) -> (u64, u64) {
    let rate = |bytes: u64, ticks: u64| bytes * 8 * u64::from(TIMESCALE) / ticks.max(1);
    let peak = segments
        .iter()
        .map(|s| rate(s.bytes, s.duration))
        .max()
        .unwrap_or(0);
    let total_bytes: u64 = segments.iter().map(|s| s.bytes).sum();
    let total_ticks: u64 = segments.iter().map(|s| s.duration).sum();
    (peak.max(1), rate(total_bytes, total_ticks).max(1))
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
