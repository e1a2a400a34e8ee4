//! ADTS headers (ISO/IEC 14496-3 §1.A.2): the framing AAC needs in MPEG-TS.

use crate::codec::asc::{AudioSpecificConfig, SAMPLE_RATES, audio_config_from_parts};
use crate::codec::bits::BitReader;
use crate::error::{MediaError, Result};
use crate::frame::AudioConfig;

const WHAT: &str = "ADTS header";
/// Length of a header without CRC.
pub const ADTS_HEADER_LEN: usize = 7;
/// Length of a header followed by its CRC.
pub const ADTS_HEADER_LEN_CRC: usize = 9;
/// `aac_frame_length` is 13 bits and counts the header.
pub const MAX_ADTS_FRAME_LEN: usize = (1 << 13) - 1;
/// `adts_buffer_fullness` value meaning "variable bit rate".
const BUFFER_FULLNESS_VBR: u16 = 0x7FF;

/// A parsed ADTS header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdtsHeader {
    /// Audio object type: `profile + 1`, so 1..=4 (2 is AAC-LC).
    pub object_type: u8,
    /// `sampling_frequency_index` (0..=12).
    pub sampling_index: u8,
    /// `channel_configuration` (0..=7).
    pub channel_config: u8,
    /// Whole frame length, header included.
    pub frame_length: u16,
    /// Whether a 16-bit CRC follows the fixed 7 bytes.
    pub has_crc: bool,
    /// `number_of_raw_data_blocks_in_frame + 1`.
    pub raw_data_blocks: u8,
}

impl AdtsHeader {
    /// Parses the header at the start of `data` (the frame may be incomplete).
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut r = BitReader::new(data, WHAT);
        if r.read(12)? != 0xFFF {
            return Err(malformed("no 0xFFF syncword"));
        }
        let _mpeg2 = r.read(1)?;
        if r.read(2)? != 0 {
            return Err(malformed("layer is not 0"));
        }
        let has_crc = r.read(1)? == 0;
        let object_type = r.read_u8(2)? + 1;
        let sampling_index = r.read_u8(4)?;
        if usize::from(sampling_index) >= SAMPLE_RATES.len() {
            return Err(malformed("reserved sampling frequency index"));
        }
        let _private = r.read(1)?;
        let channel_config = r.read_u8(3)?;
        let _originality_home_copyright = r.read(4)?;
        let frame_length = r.read(13)? as u16;
        let _fullness = r.read(11)?;
        let raw_data_blocks = r.read_u8(2)? + 1;
        let header = Self {
            object_type,
            sampling_index,
            channel_config,
            frame_length,
            has_crc,
            raw_data_blocks,
        };
        if usize::from(frame_length) < header.header_len() {
            return Err(malformed("frame length shorter than the header"));
        }
        if has_crc && data.len() < ADTS_HEADER_LEN_CRC {
            return Err(MediaError::Truncated {
                what: WHAT,
                need: ADTS_HEADER_LEN_CRC,
                have: data.len(),
            });
        }
        Ok(header)
    }

    /// Bytes of header (7, or 9 with CRC).
    pub fn header_len(&self) -> usize {
        if self.has_crc {
            ADTS_HEADER_LEN_CRC
        } else {
            ADTS_HEADER_LEN
        }
    }

    /// Bytes of raw AAC data after the header.
    pub fn payload_len(&self) -> usize {
        usize::from(self.frame_length).saturating_sub(self.header_len())
    }

    pub fn sample_rate(&self) -> u32 {
        SAMPLE_RATES[usize::from(self.sampling_index)]
    }

    /// The [`AudioConfig`] this header describes (a new AudioSpecificConfig).
    pub fn to_audio_config(&self) -> Result<AudioConfig> {
        audio_config_from_parts(self.object_type, self.sample_rate(), self.channel_config)
    }
}

/// Writes ADTS headers (no CRC) for one AAC configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdtsWriter {
    profile: u8,
    sampling_index: u8,
    channel_config: u8,
}

impl AdtsWriter {
    /// Prepares headers for `config`. ADTS can only describe object types
    /// 1..=4, indexed sampling frequencies and channel configurations 1..=7;
    /// HE-AAC is written as its core (implicit SBR signalling).
    pub fn new(config: &AudioConfig) -> Result<Self> {
        let asc = AudioSpecificConfig::parse(&config.asc)?;
        let object_type = asc.core_object_type();
        if !(1..=4).contains(&object_type) {
            return Err(unsupported(format!("object type {object_type}")));
        }
        let sampling_index = SAMPLE_RATES
            .iter()
            .position(|&rate| rate == asc.sample_rate)
            .ok_or_else(|| unsupported(format!("sampling frequency {} Hz", asc.sample_rate)))?
            as u8;
        if !(1..=7).contains(&asc.channel_config) {
            return Err(unsupported(format!(
                "channel configuration {}",
                asc.channel_config
            )));
        }
        Ok(Self {
            profile: object_type - 1,
            sampling_index,
            channel_config: asc.channel_config,
        })
    }

    /// Appends the 7-byte header of a frame carrying `payload_len` bytes.
    pub fn write_header(&self, payload_len: usize, out: &mut Vec<u8>) -> Result<()> {
        let frame_len = payload_len + ADTS_HEADER_LEN;
        if frame_len > MAX_ADTS_FRAME_LEN {
            return Err(MediaError::TooLarge {
                what: "ADTS frame",
                size: frame_len,
                max: MAX_ADTS_FRAME_LEN,
            });
        }
        let frame_len = frame_len as u16;
        out.extend_from_slice(&[
            0xFF,
            // MPEG-4, layer 0, no CRC.
            0xF1,
            (self.profile << 6) | (self.sampling_index << 2) | (self.channel_config >> 2),
            ((self.channel_config & 0x03) << 6) | (frame_len >> 11) as u8,
            (frame_len >> 3) as u8,
            ((frame_len & 0x07) << 5) as u8 | (BUFFER_FULLNESS_VBR >> 6) as u8,
            // Low fullness bits, then one raw data block (stored minus one).
            ((BUFFER_FULLNESS_VBR & 0x3F) << 2) as u8,
        ]);
        Ok(())
    }
}

fn malformed(reason: &str) -> MediaError {
    MediaError::Malformed {
        what: WHAT,
        reason: reason.into(),
    }
}

fn unsupported(detail: String) -> MediaError {
    MediaError::Unsupported {
        what: "AAC configuration for ADTS",
        detail,
    }
}
