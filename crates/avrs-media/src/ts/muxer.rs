//! The MPEG-TS muxer: one program, H.264 and/or AAC.

use crate::codec::nal::{NAL_AUD, NAL_SPS, START_CODE, avcc_nal_units, nal_type};
use crate::codec::{AdtsWriter, AvcDecoderConfig};
use crate::error::{MediaError, Result};
use crate::frame::{AudioConfig, MediaFrame, TrackKind, VideoConfig};
use crate::ts::packet::{Adaptation, write_pes_packets, write_psi_packet};
use crate::ts::pes::{MAX_PES_HEADER_LEN, PesHeader, STREAM_ID_AUDIO, STREAM_ID_VIDEO};
use crate::ts::psi::{
    AUDIO_PID, PAT_PID, PMT_PID, STREAM_TYPE_AAC_ADTS, STREAM_TYPE_H264, VIDEO_PID, pat_section,
    pmt_section,
};

/// An access unit delimiter NAL unit (primary_pic_type 7: any slice type),
/// with its start code: HLS players expect one at the start of each PES.
const AUD: [u8; 6] = [0, 0, 0, 1, 0x09, 0xF0];
/// Without video, PAT/PMT are repeated at least this often (90 kHz ticks).
const AUDIO_ONLY_PSI_INTERVAL: i64 = 90_000;

/// Writes [`MediaFrame`]s as 188-byte transport stream packets.
///
/// PAT and PMT come first and again before every video keyframe (or, for
/// audio-only streams, every second), so any keyframe can start a segment.
/// Video gets an AUD and, on keyframes, the SPS/PPS; AAC gets ADTS headers.
/// The PCR rides on the video PID (the audio PID without video) and equals
/// the DTS of the PES it starts.
#[derive(Debug)]
pub struct TsMuxer {
    video: Option<VideoTrack>,
    audio: Option<AdtsWriter>,
    pat: Vec<u8>,
    pmt: Vec<u8>,
    counters: Counters,
    /// DTS at which PAT/PMT were last written, if ever.
    last_psi: Option<i64>,
    /// Reused elementary-stream buffer: one allocation for the stream's life.
    es: Vec<u8>,
}

#[derive(Debug)]
struct VideoTrack {
    nal_length_size: u8,
    /// SPS and PPS in Annex-B form, inserted before IDR pictures.
    parameter_sets: Vec<u8>,
}

/// Continuity counters, one per PID.
#[derive(Debug, Default)]
struct Counters {
    pat: u8,
    pmt: u8,
    video: u8,
    audio: u8,
}

impl TsMuxer {
    /// A muxer for the given tracks; at least one is required.
    pub fn new(video: Option<&VideoConfig>, audio: Option<&AudioConfig>) -> Result<Self> {
        let video = video.map(VideoTrack::new).transpose()?;
        let audio = audio.map(AdtsWriter::new).transpose()?;
        let mut streams = Vec::with_capacity(2);
        if video.is_some() {
            streams.push((STREAM_TYPE_H264, VIDEO_PID));
        }
        if audio.is_some() {
            streams.push((STREAM_TYPE_AAC_ADTS, AUDIO_PID));
        }
        let pcr_pid = match (&video, &audio) {
            (Some(_), _) => VIDEO_PID,
            (None, Some(_)) => AUDIO_PID,
            (None, None) => {
                return Err(MediaError::MissingConfig {
                    what: "MPEG-TS muxer track",
                });
            }
        };
        Ok(Self {
            video,
            audio,
            pat: pat_section(),
            pmt: pmt_section(pcr_pid, &streams),
            counters: Counters::default(),
            last_psi: None,
            es: Vec::new(),
        })
    }

    /// Appends one PAT and one PMT packet. Called automatically; public so
    /// a segmenter can start a segment with them whenever it likes.
    pub fn write_psi(&mut self, out: &mut Vec<u8>) {
        write_psi_packet(out, PAT_PID, &mut self.counters.pat, &self.pat);
        write_psi_packet(out, PMT_PID, &mut self.counters.pmt, &self.pmt);
    }

    /// Appends the packets of one frame. On error nothing is appended.
    pub fn write_frame(&mut self, frame: &MediaFrame, out: &mut Vec<u8>) -> Result<()> {
        match frame.track {
            TrackKind::Video => self.write_video(frame, out),
            TrackKind::Audio => self.write_audio(frame, out),
        }
    }

    fn write_video(&mut self, frame: &MediaFrame, out: &mut Vec<u8>) -> Result<()> {
        let track = self.video.as_ref().ok_or(MediaError::MissingConfig {
            what: "video frame for MPEG-TS",
        })?;
        start_pes(&mut self.es);
        track.write_annexb(frame, &mut self.es)?;
        let pes_start = place_pes_header(&mut self.es, STREAM_ID_VIDEO, frame.pts, Some(frame.dts));
        if frame.keyframe || self.last_psi.is_none() {
            self.write_psi(out);
            self.last_psi = Some(frame.dts);
        }
        let adaptation = Adaptation {
            pcr: Some(frame.dts),
            random_access: frame.keyframe,
        };
        let pes = &self.es[pes_start..];
        write_pes_packets(out, VIDEO_PID, &mut self.counters.video, adaptation, pes);
        Ok(())
    }

    fn write_audio(&mut self, frame: &MediaFrame, out: &mut Vec<u8>) -> Result<()> {
        let adts = self.audio.ok_or(MediaError::MissingConfig {
            what: "audio frame for MPEG-TS",
        })?;
        start_pes(&mut self.es);
        adts.write_header(frame.data.len(), &mut self.es)?;
        self.es.extend_from_slice(&frame.data);
        let pes_start = place_pes_header(&mut self.es, STREAM_ID_AUDIO, frame.pts, None);
        let audio_only = self.video.is_none();
        if self.psi_due_for_audio(frame.dts, audio_only) {
            self.write_psi(out);
            self.last_psi = Some(frame.dts);
        }
        let adaptation = Adaptation {
            pcr: audio_only.then_some(frame.dts),
            random_access: false,
        };
        let pes = &self.es[pes_start..];
        write_pes_packets(out, AUDIO_PID, &mut self.counters.audio, adaptation, pes);
        Ok(())
    }

    /// With video, PSI follows keyframes; audio only needs it first. Without
    /// video, repeat it every [`AUDIO_ONLY_PSI_INTERVAL`] (or after a jump
    /// back in time).
    fn psi_due_for_audio(&self, dts: i64, audio_only: bool) -> bool {
        match self.last_psi {
            None => true,
            Some(last) => {
                audio_only && !(0..AUDIO_ONLY_PSI_INTERVAL).contains(&dts.saturating_sub(last))
            }
        }
    }
}

/// Empties the buffer and leaves room for the longest PES header, so the
/// header can be placed before the data once the data's length is known.
fn start_pes(es: &mut Vec<u8>) {
    es.clear();
    es.resize(MAX_PES_HEADER_LEN, 0);
}

/// Writes the PES header just before the data; returns where the PES starts.
fn place_pes_header(es: &mut [u8], stream_id: u8, pts: i64, dts: Option<i64>) -> usize {
    let header = PesHeader::new(stream_id, pts, dts, es.len() - MAX_PES_HEADER_LEN);
    let start = MAX_PES_HEADER_LEN - header.as_bytes().len();
    es[start..MAX_PES_HEADER_LEN].copy_from_slice(header.as_bytes());
    start
}

impl VideoTrack {
    fn new(config: &VideoConfig) -> Result<Self> {
        let record = AvcDecoderConfig::parse(&config.avcc)?;
        Ok(Self {
            nal_length_size: record.nal_length_size,
            parameter_sets: record.parameter_sets_annexb(),
        })
    }

    /// Appends the frame as Annex-B: our AUD (the frame's own are dropped),
    /// then the SPS/PPS on keyframes that lack them, then the NAL units.
    fn write_annexb(&self, frame: &MediaFrame, es: &mut Vec<u8>) -> Result<()> {
        es.reserve(AUD.len() + self.parameter_sets.len() + frame.data.len() + 64);
        es.extend_from_slice(&AUD);
        let mut has_sps = false;
        for unit in avcc_nal_units(&frame.data, self.nal_length_size)? {
            has_sps |= nal_type(unit?) == Some(NAL_SPS);
        }
        if frame.keyframe && !has_sps {
            es.extend_from_slice(&self.parameter_sets);
        }
        for unit in avcc_nal_units(&frame.data, self.nal_length_size)? {
            let unit = unit?;
            if nal_type(unit) != Some(NAL_AUD) {
                es.extend_from_slice(&START_CODE);
                es.extend_from_slice(unit);
            }
        }
        Ok(())
    }
}
