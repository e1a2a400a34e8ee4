//! What a packaging task publishes: one immutable state of the timeline.

use avrs_media::hls::{Timeline, media_playlist};
use bytes::Bytes;
use std::sync::OnceLock;

/// The timeline as it was after one publication. Shares the media bytes
/// with the packager (a clone of the timeline copies only the lists).
#[derive(Debug)]
pub struct Snapshot {
    timeline: Timeline,
    /// The LL-HLS playlist of this state, written by the first request that
    /// needs it: viewers woken by the same part share one text.
    playlist: OnceLock<Bytes>,
}

impl Snapshot {
    pub fn new(timeline: Timeline) -> Self {
        Self {
            timeline,
            playlist: OnceLock::new(),
        }
    }

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The LL-HLS media playlist (also valid plain HLS).
    pub fn playlist(&self) -> Bytes {
        self.playlist
            .get_or_init(|| Bytes::from(media_playlist(&self.timeline)))
            .clone()
    }

    /// Whether a player that knows nothing yet can start from it: it lists
    /// a complete segment (plain HLS players need one), or the stream ended.
    pub fn can_start(&self) -> bool {
        !self.timeline.segments().is_empty() || self.timeline.is_ended()
    }
}
