//! [`Recorder`]: a live stream written as it plays. Each completed segment
//! is stored durably, then journaled in redb (one row per segment), so a
//! crash loses at most the segment being written; `finish` (or the next
//! [`Library::open`]) turns the journal into a content.

use crate::db::RecordingHeader;
use crate::error::{Result, VodError};
use crate::id::VodId;
use crate::library::{Library, recording_item};
use crate::model::{self, AudioInfo, SegmentInfo, VideoInfo, VodItem};
use crate::segmenter::{self, Cut, Segmenter};
use avrs_media::fmp4::CmafWriter;
use avrs_media::{AudioConfig, MediaFrame, TrackKind, VideoConfig};
use std::sync::Arc;
use std::time::Duration;

/// Records one live stream.
#[derive(Debug)]
pub struct Recorder {
    library: Arc<Library>,
    header: RecordingHeader,
    /// The header row exists (written before the first object).
    started: bool,
    configs: Option<(Option<VideoConfig>, Option<AudioConfig>)>,
    period: Option<Period>,
    /// Index of the next init segment.
    next_init: u32,
    next_seq: u32,
    /// Timeline position where the next segment starts.
    position: u64,
    /// Live decode time that maps to 0; set at the first usable frame.
    origin: Option<i64>,
    /// The next segment follows a discontinuity.
    discontinuity: bool,
    /// A store or database error stopped the recording.
    failed: bool,
}

/// Frames under one codec configuration.
#[derive(Debug)]
struct Period {
    writer: CmafWriter,
    segmenter: Segmenter,
    init: u32,
}

impl Recorder {
    /// A recorder of `stream`; nothing is stored before its first keyframe.
    pub fn new(library: Arc<Library>, stream: &str, dvr_window: Duration) -> Self {
        let id = VodId::new(library.net_id);
        let created_ms = model::now_ms();
        let header = RecordingHeader {
            id,
            stream: stream.to_owned(),
            title: format!("{stream} recording"),
            created_ms,
            video: None,
            audio: None,
            dvr_window_ms: dvr_window.as_millis() as u64,
        };
        Self {
            library,
            header,
            started: false,
            configs: None,
            period: None,
            next_init: 0,
            next_seq: 0,
            position: 0,
            origin: None,
            discontinuity: false,
            failed: false,
        }
    }

    pub fn id(&self) -> VodId {
        self.header.id
    }

    /// Takes one live frame with the configurations that decode it.
    /// `discontinuity`: the publisher came back (times already rebased).
    /// After an error the recording is stopped: call [`Recorder::finish`].
    pub async fn push(
        &mut self,
        frame: &MediaFrame,
        video: Option<&VideoConfig>,
        audio: Option<&AudioConfig>,
        discontinuity: bool,
    ) -> Result<()> {
        if self.failed {
            return Err(VodError::Unusable(
                "the recording was stopped by an earlier error".into(),
            ));
        }
        let result = self.push_inner(frame, video, audio, discontinuity).await;
        self.failed = result.is_err();
        result
    }

    async fn push_inner(
        &mut self,
        frame: &MediaFrame,
        video: Option<&VideoConfig>,
        audio: Option<&AudioConfig>,
        discontinuity: bool,
    ) -> Result<()> {
        let configs = (video.cloned(), audio.cloned());
        if self.configs.as_ref() != Some(&configs) || discontinuity {
            self.restart(configs).await?;
        }
        if self.period.is_none() {
            return Ok(());
        }
        let driver = if video.is_some() {
            TrackKind::Video
        } else {
            TrackKind::Audio
        };
        let origin = match self.origin {
            Some(origin) => origin,
            None if frame.track == driver && frame.keyframe => *self.origin.insert(frame.dts),
            None => return Ok(()),
        };
        let mut frame = frame.clone();
        frame.dts -= origin;
        frame.pts -= origin;
        if frame.dts < 0 || frame.pts < 0 {
            return Ok(());
        }
        let cut = self.period.as_mut().and_then(|p| p.segmenter.push(frame));
        if let Some(cut) = cut {
            self.write_segment(cut).await?;
        }
        Ok(())
    }

    /// Ends the period (its last segment is written) and starts one with
    /// `configs`; a new init segment only when they changed.
    async fn restart(&mut self, configs: (Option<VideoConfig>, Option<AudioConfig>)) -> Result<()> {
        self.flush().await?;
        let changed = self.configs.as_ref() != Some(&configs);
        self.discontinuity = self.next_seq > 0;
        self.configs = Some(configs.clone());
        let (video, audio) = configs;
        if video.is_none() && audio.is_none() {
            self.period = None;
            return Ok(());
        }
        let writer = match CmafWriter::new(video.clone(), audio.clone()) {
            Ok(writer) => writer,
            Err(err) => {
                tracing::warn!(stream = %self.header.stream, %err, "cannot record these codec settings");
                self.period = None;
                return Ok(());
            }
        };
        if !self.started {
            self.header.video = video.as_ref().map(VideoInfo::of);
            self.header.audio = audio.as_ref().map(AudioInfo::of);
            let header = self.header.clone();
            self.library
                .in_db(move |db| db.begin_recording(&header))
                .await?;
            self.started = true;
        }
        let init = match (&self.period, changed) {
            (Some(period), false) => period.init,
            _ => {
                let init = self.next_init;
                self.library
                    .store
                    .put(
                        self.header.id,
                        &model::init_object(init),
                        writer.init_segment(),
                    )
                    .await?;
                self.next_init += 1;
                init
            }
        };
        let rate = audio.as_ref().map(|a| a.sample_rate);
        let segmenter = Segmenter::new(self.library.config.segment_target, video.is_some(), rate);
        self.period = Some(Period {
            writer,
            segmenter,
            init,
        });
        Ok(())
    }

    /// Writes what the current period still holds.
    async fn flush(&mut self) -> Result<()> {
        let cut = self.period.as_mut().and_then(|p| p.segmenter.finish());
        match cut {
            Some(cut) => self.write_segment(cut).await,
            None => Ok(()),
        }
    }

    /// Stores a segment, then journals it: listed only once durable.
    async fn write_segment(&mut self, cut: Cut) -> Result<()> {
        let Some(period) = self.period.as_mut() else {
            return Ok(());
        };
        let seq = self.next_seq;
        let bytes = segmenter::encode(&mut period.writer, seq, &cut)?;
        let info = SegmentInfo {
            seq,
            start: self.position,
            duration: cut.duration,
            bytes: bytes.len() as u64,
            init: period.init,
            discontinuity: std::mem::take(&mut self.discontinuity),
        };
        self.library
            .store
            .put(self.header.id, &model::segment_object(seq), bytes)
            .await?;
        let id = self.header.id;
        self.library
            .in_db(move |db| db.add_segment(id, &info))
            .await?;
        self.next_seq += 1;
        self.position += cut.duration;
        Ok(())
    }

    /// Ends the recording: writes the last segment (unless an error
    /// stopped it) and lists what was stored. `None` when nothing was.
    pub async fn finish(mut self) -> Result<Option<VodItem>> {
        let flushed = if self.failed {
            Ok(())
        } else {
            self.flush().await
        };
        if !self.started {
            return flushed.map(|()| None);
        }
        let id = self.header.id;
        let segments = self
            .library
            .in_db(move |db| db.recording_segments(id))
            .await?;
        let item = recording_item(&self.header, segments, self.failed || flushed.is_err());
        if let Some(item) = &item
            && let Ok(json) = serde_json::to_vec_pretty(item)
        {
            // Informative copy; the row is what lists the content.
            let _ = self
                .library
                .store
                .put(self.header.id, "meta.json", json.into())
                .await;
        }
        let row = item.clone();
        self.library
            .in_db(move |db| db.finish_recording(id, row.as_ref()))
            .await?;
        if item.is_none() {
            let _ = self.library.store.delete_all(self.header.id).await;
        }
        flushed.map(|()| item)
    }
}
