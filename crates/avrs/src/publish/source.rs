//! What `avrs publish` sends: the tags of an FLV file (an embedded fixture
//! or a file), split into the configuration sent once and the frames sent
//! in time order, looped with timestamps that keep growing.

use crate::bench::sei::{ClockStamp, write_stamped};
use anyhow::{Context, Result, bail};
use avrs_media::flv::{
    AudioTag, FlvDemuxer, TagType, VideoTag, avc_frame_prefix, parse_audio_tag, parse_video_tag,
};
use avrs_media::{AudioConfig, VideoConfig};
use bytes::Bytes;

/// Fixtures built into the binary: 2 s of 1280x720 30 fps H.264 (High, no
/// B-frames, a keyframe every second) and 48 kHz stereo AAC-LC; see
/// `assets/README.md` for how they were made.
const FIXTURE_LOW: &[u8] = include_bytes!("../../assets/testsrc2-720p30-low.flv");
const FIXTURE_HIGH: &[u8] = include_bytes!("../../assets/testsrc2-720p30-high.flv");

/// The synthetic source's bit rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BitrateClass {
    /// About 0.75 Mbit/s (650 kbit/s video), like DESIGN §6's nginx figures.
    Low,
    /// About 2.5 Mbit/s (2.35 Mbit/s video), the HTTP-FLV viewer target.
    High,
}

impl BitrateClass {
    pub fn fixture(self) -> &'static [u8] {
        match self {
            Self::Low => FIXTURE_LOW,
            Self::High => FIXTURE_HIGH,
        }
    }
}

/// A video or audio tag to send, with its time from the first frame.
#[derive(Debug, Clone)]
pub struct SourceFrame {
    pub kind: TagType,
    pub offset_ms: u32,
    pub payload: Bytes,
    /// For H.264 pictures, what stamping needs to rebuild the payload.
    pub avc: Option<AvcFrame>,
}

#[derive(Debug, Clone, Copy)]
pub struct AvcFrame {
    pub keyframe: bool,
    pub composition_time: i32,
    /// Where the NAL units start in the payload.
    pub data_start: usize,
}

/// A parsed FLV ready to publish.
#[derive(Debug, Clone)]
pub struct Source {
    /// Sequence header payloads, sent before any frame.
    pub video_header: Option<Bytes>,
    pub audio_header: Option<Bytes>,
    pub video_config: Option<VideoConfig>,
    pub audio_config: Option<AudioConfig>,
    pub frames: Vec<SourceFrame>,
    /// Length of one pass: the next pass starts this much later. Frames
    /// at or after it are left out when looping.
    pub loop_ms: u32,
}

impl Source {
    /// Splits an FLV file into configuration and frames. Tags of codecs
    /// other than H.264/AAC are kept as they are (they can be sent, not
    /// stamped); script tags are dropped (metadata is sent separately).
    pub fn parse(flv: &[u8]) -> Result<Self> {
        let mut demuxer = FlvDemuxer::default();
        demuxer.push(flv);
        let mut source = Self {
            video_header: None,
            audio_header: None,
            video_config: None,
            audio_config: None,
            frames: Vec::new(),
            loop_ms: 0,
        };
        while let Some(tag) = demuxer.next_tag().context("reading the FLV")? {
            source.add(tag.tag_type, tag.timestamp, tag.data)?;
        }
        if demuxer.buffered() > 0 {
            bail!("the FLV ends inside a tag");
        }
        if source.frames.is_empty() {
            bail!("the FLV has no audio or video frames");
        }
        let first = source.frames.iter().map(|f| f.offset_ms).min().unwrap_or(0);
        for frame in &mut source.frames {
            frame.offset_ms -= first;
        }
        source.loop_ms = pass_length(&source.frames);
        Ok(source)
    }

    fn add(&mut self, kind: TagType, timestamp: u32, payload: Bytes) -> Result<()> {
        let mut avc = None;
        match kind {
            TagType::Video => match parse_video_tag(&payload) {
                Ok(VideoTag::AvcSequenceHeader(record)) => {
                    self.video_config = Some(avrs_media::codec::video_config_from_avcc(record)?);
                    self.video_header = Some(payload);
                    return Ok(());
                }
                Ok(VideoTag::AvcFrame {
                    keyframe,
                    composition_time,
                    data,
                }) => {
                    avc = Some(AvcFrame {
                        keyframe,
                        composition_time,
                        data_start: payload.len() - data.len(),
                    })
                }
                // End of sequence and command frames are not worth looping.
                Ok(_) => return Ok(()),
                Err(_) => {}
            },
            TagType::Audio => {
                if let Ok(AudioTag::AacSequenceHeader(asc)) = parse_audio_tag(&payload) {
                    self.audio_config = Some(avrs_media::codec::audio_config_from_asc(asc)?);
                    self.audio_header = Some(payload);
                    return Ok(());
                }
            }
            TagType::Script | TagType::Other(_) => return Ok(()),
        }
        self.frames.push(SourceFrame {
            kind,
            offset_ms: timestamp,
            payload,
            avc,
        });
        Ok(())
    }

    /// Video frames per second over one pass, for the metadata.
    pub fn frame_rate(&self) -> Option<f32> {
        let video = self.frames.iter().filter(|f| f.kind == TagType::Video);
        let n = video.filter(|f| f.offset_ms < self.loop_ms).count();
        (n > 0).then(|| n as f32 * 1000.0 / self.loop_ms as f32)
    }

    /// Bytes of the NAL length prefixes in frames.
    pub fn nal_length_size(&self) -> u8 {
        self.video_config.as_ref().map_or(4, |c| c.nal_length_size)
    }
}

/// One pass lasts as long as its frames plus one frame interval, so that a
/// loop keeps the frame rate; measured on video when there is video.
fn pass_length(frames: &[SourceFrame]) -> u32 {
    let video: Vec<u32> = frames
        .iter()
        .filter(|f| f.kind == TagType::Video)
        .map(|f| f.offset_ms)
        .collect();
    let times = if video.len() >= 2 {
        video
    } else {
        frames.iter().map(|f| f.offset_ms).collect()
    };
    let (first, last) = (times[0], times[times.len() - 1]);
    let n = times.len() as u64;
    let with_interval = if n >= 2 {
        u64::from(last - first) * n / (n - 1)
    } else {
        1000
    };
    u32::try_from(with_interval).unwrap_or(u32::MAX).max(1)
}

/// The frames to send, in order, with their send times.
pub struct Schedule<'a> {
    source: &'a Source,
    looping: bool,
    next: usize,
    pass: u64,
    sequence: u32,
}

/// One frame due at `at_ms` after the start.
pub struct Due {
    pub kind: TagType,
    pub at_ms: u64,
    pub payload: Bytes,
}

impl<'a> Schedule<'a> {
    pub fn new(source: &'a Source, looping: bool) -> Self {
        Self {
            source,
            looping,
            next: 0,
            pass: 0,
            sequence: 0,
        }
    }

    /// The next frame, or `None` after the last one when not looping.
    pub fn next_due(&mut self) -> Option<(Due, &'a SourceFrame)> {
        let frame = loop {
            if self.next == self.source.frames.len() {
                if !self.looping {
                    return None;
                }
                self.next = 0;
                self.pass += 1;
            }
            let frame = &self.source.frames[self.next];
            self.next += 1;
            // Audio often runs a little past the last picture; in a loop
            // that overhang would overlap the next pass and send time back.
            if !self.looping || frame.offset_ms < self.source.loop_ms {
                break frame;
            }
        };
        let at_ms = self.pass * u64::from(self.source.loop_ms) + u64::from(frame.offset_ms);
        let due = Due {
            kind: frame.kind,
            at_ms,
            payload: frame.payload.clone(),
        };
        Some((due, frame))
    }

    /// The frame's payload with a clock stamp, for H.264 pictures; other
    /// frames as they are. Counts stamped frames.
    pub fn stamp(&mut self, frame: &SourceFrame, unix_micros: u64) -> Result<Bytes> {
        let Some(avc) = frame.avc else {
            return Ok(frame.payload.clone());
        };
        let stamp = ClockStamp {
            unix_micros,
            sequence: self.sequence,
        };
        self.sequence = self.sequence.wrapping_add(1);
        let mut payload = Vec::with_capacity(frame.payload.len() + 48);
        payload.extend_from_slice(&avc_frame_prefix(avc.keyframe, avc.composition_time)?);
        write_stamped(
            stamp,
            &frame.payload[avc.data_start..],
            self.source.nal_length_size(),
            &mut payload,
        );
        Ok(payload.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::sei::find_stamp;

    #[test]
    fn fixtures_parse_into_two_second_passes() {
        for class in [BitrateClass::Low, BitrateClass::High] {
            let source = Source::parse(class.fixture()).unwrap();
            assert_eq!(source.loop_ms, 2000, "{class:?}");
            let video = source.frames.iter().filter(|f| f.kind == TagType::Video);
            assert_eq!(video.clone().count(), 60);
            assert_eq!(video.filter(|f| f.avc.unwrap().keyframe).count(), 2);
            let first_video = source.frames.iter().find(|f| f.kind == TagType::Video);
            assert!(first_video.unwrap().avc.unwrap().keyframe);
            let config = source.video_config.as_ref().unwrap();
            assert_eq!((config.width, config.height), (1280, 720));
            assert_eq!(source.audio_config.as_ref().unwrap().sample_rate, 48000);
            assert_eq!(source.nal_length_size(), 4);
        }
    }

    #[test]
    fn loops_keep_time_growing_and_stamps_counting() {
        let source = Source::parse(BitrateClass::Low.fixture()).unwrap();
        let mut schedule = Schedule::new(&source, true);
        let mut last_video = None;
        let mut last_audio = 0;
        let mut sequences = Vec::new();
        for _ in 0..source.frames.len() * 2 + 10 {
            let (due, frame) = schedule.next_due().unwrap();
            if due.kind != TagType::Video {
                assert!(
                    due.at_ms >= last_audio,
                    "audio time goes back at {}",
                    due.at_ms
                );
                last_audio = due.at_ms;
                continue;
            }
            if let Some(last) = last_video {
                let gap = due.at_ms - last;
                assert!(
                    (33..=34).contains(&gap),
                    "video gap {gap} ms at {}",
                    due.at_ms
                );
            }
            last_video = Some(due.at_ms);
            let payload = schedule.stamp(frame, 1234).unwrap();
            assert_eq!(
                payload[0] >> 4,
                if frame.avc.unwrap().keyframe { 1 } else { 2 }
            );
            let stamp = find_stamp(&payload[5..], 4).unwrap();
            assert_eq!(stamp.unix_micros, 1234);
            sequences.push(stamp.sequence);
        }
        assert_eq!(sequences, (0..sequences.len() as u32).collect::<Vec<_>>());
    }

    #[test]
    fn a_file_played_once_ends() {
        let source = Source::parse(BitrateClass::Low.fixture()).unwrap();
        let mut schedule = Schedule::new(&source, false);
        let mut n = 0;
        while schedule.next_due().is_some() {
            n += 1;
        }
        assert_eq!(n, source.frames.len());
        assert!(Source::parse(b"FLV\x01\x05\0\0\0\x09\0\0\0\0").is_err());
    }
}
