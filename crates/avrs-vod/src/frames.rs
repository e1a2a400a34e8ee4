//! Frames back out of the stored CMAF segments, for players that take
//! frames rather than segments (native AVRS VoD sessions).
//!
//! A segment is read with its init segment and demuxed by the same MP4
//! demuxer import uses (it reads `moof`/`traf`/`trun`); the demuxer starts
//! times at 0, so the segment's recorded start is added back.

use crate::error::Result;
use crate::id::VodId;
use crate::library::Library;
use crate::model::{SegmentInfo, init_object, segment_object};
use avrs_media::{AudioConfig, MediaFrame, VideoConfig};
use std::sync::Arc;

/// The frames of one segment, times in 90 kHz ticks from the content's
/// start, in decode order, with the configurations that decode them.
#[derive(Debug, Clone)]
pub struct SegmentFrames {
    pub segment: SegmentInfo,
    pub video: Option<VideoConfig>,
    pub audio: Option<AudioConfig>,
    pub frames: Vec<MediaFrame>,
}

impl Library {
    /// Every segment of `id`'s first rendition (the only one today).
    pub fn segments(&self, id: VodId) -> Result<Vec<SegmentInfo>> {
        self.segments_from(id, 0)
    }

    /// Reads and demuxes one segment of `id`.
    /// The frames of `segment`, from the shared cache when a session read
    /// them recently.
    pub async fn segment_frames(&self, id: VodId, segment: SegmentInfo) -> Result<SegmentFrames> {
        if let Some(frames) = self.segment_cache.get(id, segment.seq) {
            return Ok((*frames).clone());
        }
        let frames = self.read_segment_frames(id, segment).await?;
        self.segment_cache
            .put(id, segment.seq, Arc::new(frames.clone()));
        Ok(frames)
    }

    async fn read_segment_frames(&self, id: VodId, segment: SegmentInfo) -> Result<SegmentFrames> {
        let init = self.read_object(id, &init_object(segment.init)).await?;
        let media = self.read_object(id, &segment_object(segment.seq)).await?;
        let mut file = Vec::with_capacity(init.len() + media.len());
        file.extend_from_slice(&init);
        file.extend_from_slice(&media);
        let demuxed = avrs_media::demux::demux(&file)?;
        let offset = i64::try_from(segment.start).unwrap_or(i64::MAX);
        let mut frames = demuxed.frames;
        for frame in &mut frames {
            frame.dts = frame.dts.saturating_add(offset);
            frame.pts = frame.pts.saturating_add(offset);
        }
        Ok(SegmentFrames {
            segment,
            video: demuxed.video,
            audio: demuxed.audio,
            frames,
        })
    }
}
