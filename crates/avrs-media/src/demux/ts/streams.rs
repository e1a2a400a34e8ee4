//! Elementary streams to frames: H.264 Annex-B access units (one per PES,
//! as muxers write them) to AVCC, ADTS to raw AAC frames.

use super::malformed;
use super::pes::Pes;
use crate::codec::nal::{NAL_AUD, NAL_PPS, NAL_SPS, annexb_nal_units, nal_type, write_avcc_unit};
use crate::codec::{AdtsHeader, video_config_from_parameter_sets};
use crate::demux::assemble::{check_aac, check_frame_cap, check_time, finish, to_ticks};
use crate::demux::{Container, Demuxed};
use crate::error::{MediaError, Result};
use crate::frame::{AudioConfig, MediaFrame, TrackKind, VideoConfig};
use bytes::Bytes;

/// Samples per AAC frame.
const AAC_FRAME_SAMPLES: i128 = 1024;

#[derive(Default)]
pub(super) struct Elementary {
    video: Option<VideoConfig>,
    audio: Option<AudioConfig>,
    /// (object type, sampling index, channel configuration) of the first
    /// ADTS header: later headers must agree.
    adts_key: Option<(u8, u8, u8)>,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    /// An ADTS frame cut by a PES boundary, and its time.
    pending: Vec<u8>,
    pending_time: i64,
    video_frames: usize,
    audio_frames: usize,
    clock: Clock,
    frames: Vec<MediaFrame>,
}

impl Elementary {
    /// One access unit. Frames before the first SPS and PPS cannot be
    /// decoded and are dropped.
    pub fn video_pes(&mut self, pes: &Pes) -> Result<()> {
        let (pts, dts) = self.times(pes, "video")?;
        let mut data = Vec::with_capacity(pes.data.len() + 16);
        for unit in annexb_nal_units(&pes.data)? {
            match nal_type(unit) {
                Some(NAL_AUD) => continue,
                Some(NAL_SPS) if self.sps.is_none() => self.sps = Some(unit.to_vec()),
                Some(NAL_PPS) if self.pps.is_none() => self.pps = Some(unit.to_vec()),
                _ => {}
            }
            write_avcc_unit(unit, &mut data)?;
        }
        if self.video.is_none()
            && let (Some(sps), Some(pps)) = (&self.sps, &self.pps)
        {
            self.video = Some(video_config_from_parameter_sets(&[sps], &[pps])?);
        }
        if self.video.is_none() || data.is_empty() {
            return Ok(());
        }
        check_frame_cap(self.video_frames, "MPEG-TS video frames")?;
        self.video_frames += 1;
        self.push(TrackKind::Video, dts, pts, data);
        Ok(())
    }

    /// ADTS frames; each gets the PES time advanced by 1024 samples per
    /// frame before it. A frame cut by the PES boundary continues in the
    /// next PES and keeps the time it started with.
    pub fn audio_pes(&mut self, pes: &Pes) -> Result<()> {
        let (pts, _) = self.times(pes, "audio")?;
        let continued = !self.pending.is_empty();
        let mut buffer = std::mem::take(&mut self.pending);
        buffer.extend_from_slice(&pes.data);
        let mut rest = buffer.as_slice();
        let mut started = 0i128;
        while !rest.is_empty() {
            let first_continued = continued && rest.len() == buffer.len();
            let time = if first_continued {
                self.pending_time
            } else {
                pts + to_ticks(
                    started * AAC_FRAME_SAMPLES,
                    self.audio_rate(rest)?,
                    "ADTS time",
                )?
            };
            let header = match AdtsHeader::parse(rest) {
                Err(MediaError::Truncated { .. }) => return self.keep_pending(rest, time),
                other => other?,
            };
            let Some((frame, after)) = rest.split_at_checked(usize::from(header.frame_length))
            else {
                return self.keep_pending(rest, time);
            };
            self.check_adts(&header, pes.offset)?;
            let payload = frame.get(header.header_len()..).unwrap_or_default();
            check_frame_cap(self.audio_frames, "MPEG-TS audio frames")?;
            self.audio_frames += 1;
            self.push(TrackKind::Audio, time, time, payload.to_vec());
            if !first_continued {
                started += 1;
            }
            rest = after;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Demuxed> {
        if !self.pending.is_empty() {
            return Err(MediaError::Truncated {
                what: "ADTS frame",
                need: self.pending.len() + 1,
                have: self.pending.len(),
            });
        }
        if self.video.is_none() && self.sps.is_some() != self.pps.is_some() {
            return Err(MediaError::MissingConfig {
                what: "H.264 stream (SPS and PPS)",
            });
        }
        finish(Container::MpegTs, self.video, self.audio, self.frames)
    }

    fn keep_pending(&mut self, rest: &[u8], time: i64) -> Result<()> {
        self.pending = rest.to_vec();
        self.pending_time = time;
        Ok(())
    }

    /// Sample rate for frame times: the stream's, or this header's if the
    /// stream has none yet.
    fn audio_rate(&self, rest: &[u8]) -> Result<u64> {
        match &self.audio {
            Some(config) => Ok(u64::from(config.sample_rate)),
            None => Ok(u64::from(
                AdtsHeader::parse(rest)
                    .map(|h| h.sample_rate())
                    .unwrap_or(1),
            )),
        }
    }

    fn check_adts(&mut self, header: &AdtsHeader, offset: usize) -> Result<()> {
        if header.raw_data_blocks != 1 {
            return Err(MediaError::Unsupported {
                what: "ADTS frame",
                detail: format!("{} raw data blocks in one frame", header.raw_data_blocks),
            });
        }
        let key = (
            header.object_type,
            header.sampling_index,
            header.channel_config,
        );
        match self.adts_key {
            None => {
                self.audio = Some(check_aac(header.to_audio_config()?)?);
                self.adts_key = Some(key);
            }
            Some(first) if first != key => {
                return Err(MediaError::Unsupported {
                    what: "AAC stream",
                    detail: format!("configuration changes mid-stream (PES at offset {offset})"),
                });
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// Unwrapped 90 kHz (pts, dts) of a PES; a PES without PTS is refused.
    fn times(&mut self, pes: &Pes, kind: &str) -> Result<(i64, i64)> {
        let raw = pes
            .pts
            .ok_or_else(|| malformed(format!("{kind} PES at offset {} has no PTS", pes.offset)))?;
        let pts = self.clock.unwrap(raw)?;
        let dts = match pes.dts {
            Some(raw) => self.clock.unwrap(raw)?,
            None => pts,
        };
        Ok((pts, dts))
    }

    fn push(&mut self, track: TrackKind, dts: i64, pts: i64, data: Vec<u8>) {
        self.frames.push(MediaFrame {
            track,
            dts,
            pts,
            keyframe: true,
            data: Bytes::from(data),
        });
    }
}

/// Unwraps 33-bit MPEG times: each one is taken as the value nearest to the
/// previous time, so a wrap continues forward instead of jumping back.
#[derive(Default)]
struct Clock {
    last: Option<i64>,
}

impl Clock {
    const WRAP: i64 = 1 << 33;

    fn unwrap(&mut self, raw: i64) -> Result<i64> {
        let value = match self.last {
            None => raw,
            Some(last) => {
                let delta = (raw - last).rem_euclid(Self::WRAP);
                last + if delta >= Self::WRAP / 2 {
                    delta - Self::WRAP
                } else {
                    delta
                }
            }
        };
        let value = check_time(value, "MPEG-TS time")?;
        self.last = Some(value);
        Ok(value)
    }
}
