//! Played frames to FLV or MPEG-TS bytes, flushed frame by frame.

use anyhow::Context;
use avrs_media::flv;
use avrs_media::ts::TsMuxer;
use avrs_node::native::client::{PlayedFrame, TrackConfigs};
use std::io::Write;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Flv,
    Ts,
}

impl Format {
    /// MPEG-TS for `.ts`, `.m2ts`, `.mts`; FLV otherwise (stdout included).
    pub fn from_path(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        if [".ts", ".m2ts", ".mts"]
            .iter()
            .any(|ext| lower.ends_with(ext))
        {
            Format::Ts
        } else {
            Format::Flv
        }
    }
}

/// Writes frames in one format, announcing codec configurations first and
/// again when they change.
pub struct Sink {
    out: Box<dyn Write>,
    format: Format,
    configs: Option<Arc<TrackConfigs>>,
    ts: Option<TsMuxer>,
    buf: Vec<u8>,
}

impl Sink {
    pub fn new(format: Format, out: Box<dyn Write>) -> Self {
        Self {
            out,
            format,
            configs: None,
            ts: None,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    pub fn write(&mut self, frame: &PlayedFrame) -> anyhow::Result<()> {
        self.buf.clear();
        let changed = !self
            .configs
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &frame.configs) || **c == *frame.configs);
        match self.format {
            Format::Flv => self.flv(frame, changed)?,
            Format::Ts => self.ts(frame, changed)?,
        }
        if changed {
            self.configs = Some(frame.configs.clone());
        }
        self.out.write_all(&self.buf)?;
        // Each frame goes out at once: a player reading the output is live.
        self.out.flush()?;
        Ok(())
    }

    fn flv(&mut self, frame: &PlayedFrame, changed: bool) -> anyhow::Result<()> {
        let configs = &frame.configs;
        let (video, audio) = (configs.video.as_ref(), configs.audio.as_ref());
        if changed && self.configs.is_none() {
            self.buf.extend_from_slice(&flv::stream_head(video, audio)?);
        } else if changed {
            let ms = flv::frame_timestamp_ms(&frame.media);
            if let Some(video) = video {
                self.buf
                    .extend_from_slice(&flv::video_config_tag(video, ms)?);
            }
            if let Some(audio) = audio {
                self.buf
                    .extend_from_slice(&flv::audio_config_tag(audio, ms)?);
            }
        }
        self.buf.extend_from_slice(&flv::frame_tag(&frame.media)?);
        Ok(())
    }

    fn ts(&mut self, frame: &PlayedFrame, changed: bool) -> anyhow::Result<()> {
        if changed {
            let configs = &frame.configs;
            self.ts = Some(
                TsMuxer::new(configs.video.as_ref(), configs.audio.as_ref())
                    .context("MPEG-TS needs H.264 or AAC")?,
            );
        }
        let muxer = self.ts.as_mut().context("no MPEG-TS muxer")?;
        muxer.write_frame(&frame.media, &mut self.buf)?;
        Ok(())
    }

    pub fn finish(mut self) -> anyhow::Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(Format::from_path("a.ts"), Format::Ts);
        assert_eq!(Format::from_path("A.M2TS"), Format::Ts);
        assert_eq!(Format::from_path("x.mts"), Format::Ts);
        assert_eq!(Format::from_path("a.flv"), Format::Flv);
        assert_eq!(Format::from_path("-"), Format::Flv);
        assert_eq!(Format::from_path("noext"), Format::Flv);
    }
}
