//! RTMP ingest: a publisher's audio/video messages into the live fan-out.

use avrs_core::live::{Publisher, PushError, TrackConfigs};
use avrs_media::MediaError;
use avrs_media::flv::{TagMedia, audio_tag_to_media, video_tag_to_media};
use avrs_media::frame::TrackKind;
use bytes::Bytes;
use std::time::Instant;

/// One publishing RTMP stream. Dropping it (connection lost, deleteStream,
/// FCUnpublish) drops the [`Publisher`], which keeps the content for the
/// registry's reconnect timeout: a returning publisher continues it and
/// viewers stay connected.
#[derive(Debug)]
pub struct Ingest {
    publisher: Publisher,
    /// The configurations announced so far by this publisher.
    configs: TrackConfigs,
    /// `configs` changed since it was last given to the content. Applied
    /// just before the next frame, so the video and audio sequence headers
    /// that arrive together become one change, not two (viewers re-send
    /// sequence headers on every change).
    configs_dirty: bool,
    clock: Clock,
    frames: u64,
    /// Frames dropped because their track had no configuration yet.
    early_frames: u64,
}

impl Ingest {
    pub fn new(publisher: Publisher) -> Self {
        Self {
            publisher,
            configs: TrackConfigs::default(),
            configs_dirty: false,
            clock: Clock::default(),
            frames: 0,
            early_frames: 0,
        }
    }

    pub fn name(&self) -> &str {
        self.publisher.content().name()
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// A video message at RTMP time `timestamp` (ms).
    pub fn video(&mut self, data: &Bytes, timestamp: u32) -> Result<(), MediaError> {
        let ms = self.clock.extend(timestamp);
        let media = video_tag_to_media(data, ms)?;
        self.apply(media);
        Ok(())
    }

    /// An audio message at RTMP time `timestamp` (ms).
    pub fn audio(&mut self, data: &Bytes, timestamp: u32) -> Result<(), MediaError> {
        let ms = self.clock.extend(timestamp);
        let media = audio_tag_to_media(data, ms)?;
        self.apply(media);
        Ok(())
    }

    /// The publisher leaves for good (its media cannot be served): end the
    /// content now instead of waiting for a return.
    pub fn finish(self) {
        self.publisher.finish();
    }

    fn apply(&mut self, media: TagMedia) {
        match media {
            TagMedia::VideoConfig(config) => {
                if self.configs.video.as_ref() != Some(&config) {
                    tracing::info!(
                        stream = %self.name(),
                        codec = %config.codec,
                        width = config.width,
                        height = config.height,
                        "video configuration"
                    );
                    self.configs.video = Some(config);
                    self.configs_dirty = true;
                }
            }
            TagMedia::AudioConfig(config) => {
                if self.configs.audio.as_ref() != Some(&config) {
                    tracing::info!(
                        stream = %self.name(),
                        codec = %config.codec,
                        sample_rate = config.sample_rate,
                        channels = config.channels,
                        "audio configuration"
                    );
                    self.configs.audio = Some(config);
                    self.configs_dirty = true;
                }
            }
            TagMedia::Frame(frame) => {
                let configured = match frame.track {
                    TrackKind::Video => self.configs.video.is_some(),
                    TrackKind::Audio => self.configs.audio.is_some(),
                };
                if !configured {
                    // Undecodable without its sequence header; not fatal
                    // (some encoders send a frame or two first).
                    self.early_frames += 1;
                    if self.early_frames == 1 {
                        tracing::debug!(stream = %self.name(), track = ?frame.track,
                            "frame before its sequence header: dropped");
                    }
                    return;
                }
                if self.configs_dirty {
                    self.publisher.set_configs(self.configs.clone());
                    self.configs_dirty = false;
                }
                match self.publisher.push(frame, Instant::now()) {
                    Ok(()) => self.frames += 1,
                    Err(PushError::Rejected(why)) => {
                        tracing::debug!(stream = %self.name(), %why, "frame rejected by a content hook");
                    }
                    // Only a relay's publisher is ever taken over.
                    Err(PushError::TakenOver) => {}
                }
            }
            TagMedia::EndOfSequence(_) | TagMedia::Skipped => {}
        }
    }
}

/// Extends 32-bit RTMP millisecond timestamps (which wrap after ~49.7 days,
/// and which audio and video interleave slightly out of order) to a
/// continuous 64-bit time.
#[derive(Debug, Default)]
struct Clock {
    last: Option<(u32, i64)>,
}

impl Clock {
    fn extend(&mut self, raw: u32) -> i64 {
        let extended = match self.last {
            None => i64::from(raw),
            // The signed 32-bit difference: steps of less than ~24.8 days
            // either way, across a wrap too.
            Some((last_raw, last)) => last + i64::from(raw.wrapping_sub(last_raw) as i32),
        };
        self.last = Some((raw, extended));
        extended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_extends_across_wrap_and_small_reorders() {
        let mut clock = Clock::default();
        assert_eq!(clock.extend(100), 100);
        assert_eq!(clock.extend(90), 90);
        assert_eq!(clock.extend(u32::MAX - 5), 90 - 96);
        let mut clock = Clock::default();
        assert_eq!(clock.extend(u32::MAX - 10), i64::from(u32::MAX) - 10);
        assert_eq!(clock.extend(5), i64::from(u32::MAX) + 6);
        assert_eq!(clock.extend(u32::MAX), i64::from(u32::MAX));
    }
}
