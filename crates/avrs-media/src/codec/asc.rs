//! AAC `AudioSpecificConfig` (ISO/IEC 14496-3 §1.6.2.1): what FLV/RTMP
//! sequence headers and the MP4 `esds` box carry.

use bytes::Bytes;

use crate::codec::bits::{BitReader, BitWriter};
use crate::error::{MediaError, Result};
use crate::frame::AudioConfig;

const WHAT: &str = "AudioSpecificConfig";

/// Sampling frequencies by `samplingFrequencyIndex` (0..=12).
pub const SAMPLE_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// Object type of SBR (HE-AAC), signalled explicitly.
pub const OBJECT_TYPE_SBR: u8 = 5;
/// Object type of parametric stereo (HE-AAC v2), signalled explicitly.
pub const OBJECT_TYPE_PS: u8 = 29;

/// A parsed `AudioSpecificConfig`. Bits after the channel configuration
/// (GASpecificConfig, backward-compatible extensions) are not interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSpecificConfig {
    /// `audioObjectType` as first signalled: 2 is AAC-LC, 5 HE-AAC, 29 HE-AAC v2.
    pub object_type: u8,
    /// Sampling frequency of the AAC core, in Hz.
    pub sample_rate: u32,
    /// `channelConfiguration` (1..=7, 11..=14; 0 is refused).
    pub channel_config: u8,
    /// Present when SBR or PS is signalled explicitly (object type 5 or 29).
    pub extension: Option<SbrExtension>,
}

/// The second half of an explicitly signalled HE-AAC configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbrExtension {
    /// Output sampling frequency of SBR, in Hz.
    pub sample_rate: u32,
    /// Object type of the core coder, usually 2 (AAC-LC).
    pub core_object_type: u8,
}

impl AudioSpecificConfig {
    /// Parses the leading fields of an `AudioSpecificConfig`.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut r = BitReader::new(data, WHAT);
        let object_type = read_object_type(&mut r)?;
        if object_type == 0 {
            return Err(malformed("audio object type 0 (null)"));
        }
        let sample_rate = read_sample_rate(&mut r)?;
        let channel_config = r.read_u8(4)?;
        channel_count(channel_config)?;
        let extension = if matches!(object_type, OBJECT_TYPE_SBR | OBJECT_TYPE_PS) {
            Some(SbrExtension {
                sample_rate: read_sample_rate(&mut r)?,
                core_object_type: read_object_type(&mut r)?,
            })
        } else {
            None
        };
        Ok(Self {
            object_type,
            sample_rate,
            channel_config,
            extension,
        })
    }

    /// A plain (no SBR) configuration.
    pub fn new(object_type: u8, sample_rate: u32, channel_config: u8) -> Self {
        Self {
            object_type,
            sample_rate,
            channel_config,
            extension: None,
        }
    }

    /// Object type of the AAC core: what an ADTS header carries.
    pub fn core_object_type(&self) -> u8 {
        self.extension
            .as_ref()
            .map_or(self.object_type, |e| e.core_object_type)
    }

    /// Number of output channels.
    pub fn channels(&self) -> Result<u8> {
        channel_count(self.channel_config)
    }

    /// Serialises the configuration; the core must be a general audio
    /// coder (object types 1–4, 6, 7, 17, 19–23), whose GASpecificConfig is
    /// written as three zero bits (1024-sample frames, no core coder, no
    /// extension).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        // 31 is the escape code itself; escaped types span 32..=95.
        if matches!(self.object_type, 0 | 31 | 96..) {
            return Err(unsupported(format!("object type {}", self.object_type)));
        }
        if !is_general_audio(self.core_object_type()) {
            return Err(unsupported(format!(
                "writing object type {}",
                self.core_object_type()
            )));
        }
        channel_count(self.channel_config)?;
        let mut w = BitWriter::default();
        write_object_type(&mut w, self.object_type);
        write_sample_rate(&mut w, self.sample_rate)?;
        w.write(u32::from(self.channel_config), 4);
        if let Some(ext) = &self.extension {
            write_sample_rate(&mut w, ext.sample_rate)?;
            write_object_type(&mut w, ext.core_object_type);
        }
        w.write(0, 3);
        Ok(w.into_bytes())
    }

    /// The shared [`AudioConfig`], keeping `raw` as the `asc` bytes.
    pub fn to_audio_config(&self, raw: Bytes) -> Result<AudioConfig> {
        Ok(AudioConfig {
            asc: raw,
            codec: format!("mp4a.40.{}", self.object_type),
            object_type: self.object_type,
            sample_rate: self.sample_rate,
            channels: self.channels()?,
        })
    }
}

/// Parses an `AudioSpecificConfig` and derives the shared [`AudioConfig`].
pub fn audio_config_from_asc(asc: &[u8]) -> Result<AudioConfig> {
    AudioSpecificConfig::parse(asc)?.to_audio_config(Bytes::copy_from_slice(asc))
}

/// Builds an [`AudioConfig`] (with a new `AudioSpecificConfig`) from its
/// fields, as when ingesting ADTS.
pub fn audio_config_from_parts(
    object_type: u8,
    sample_rate: u32,
    channel_config: u8,
) -> Result<AudioConfig> {
    let asc = AudioSpecificConfig::new(object_type, sample_rate, channel_config);
    asc.to_audio_config(Bytes::from(asc.to_bytes()?))
}

/// Index of `rate` in [`SAMPLE_RATES`], if it has one.
pub fn sample_rate_index(rate: u32) -> Option<u8> {
    SAMPLE_RATES
        .iter()
        .position(|&r| r == rate)
        .map(|i| i as u8)
}

/// Output channels of a `channelConfiguration`. 0 (a program config
/// element decides) is refused: no live encoder we serve sends it.
pub fn channel_count(channel_config: u8) -> Result<u8> {
    match channel_config {
        1..=6 => Ok(channel_config),
        7 | 12 | 14 => Ok(8),
        11 => Ok(7),
        13 => Ok(24),
        other => Err(unsupported(format!("channel configuration {other}"))),
    }
}

fn is_general_audio(object_type: u8) -> bool {
    matches!(object_type, 1..=4 | 6 | 7 | 17 | 19..=23)
}

/// `GetAudioObjectType()`: 5 bits, with 31 escaping to `32 + 6 bits`.
fn read_object_type(r: &mut BitReader<'_>) -> Result<u8> {
    match r.read_u8(5)? {
        31 => Ok(32 + r.read_u8(6)?),
        object_type => Ok(object_type),
    }
}

fn write_object_type(w: &mut BitWriter, object_type: u8) {
    if object_type > 31 {
        w.write(31, 5);
        w.write(u32::from(object_type - 32), 6);
    } else {
        w.write(u32::from(object_type), 5);
    }
}

/// A 4-bit `samplingFrequencyIndex`, with 15 escaping to an explicit 24-bit
/// frequency.
fn read_sample_rate(r: &mut BitReader<'_>) -> Result<u32> {
    match r.read_u8(4)? {
        15 => match r.read(24)? {
            0 => Err(malformed("explicit sampling frequency 0")),
            rate => Ok(rate),
        },
        index => SAMPLE_RATES
            .get(usize::from(index))
            .copied()
            .ok_or_else(|| malformed(&format!("reserved sampling frequency index {index}"))),
    }
}

fn write_sample_rate(w: &mut BitWriter, rate: u32) -> Result<()> {
    match sample_rate_index(rate) {
        Some(index) => w.write(u32::from(index), 4),
        None if rate > 0 && rate < 1 << 24 => {
            w.write(15, 4);
            w.write(rate, 24);
        }
        None => return Err(unsupported(format!("sampling frequency {rate} Hz"))),
    }
    Ok(())
}

fn malformed(reason: &str) -> MediaError {
    MediaError::Malformed {
        what: WHAT,
        reason: reason.into(),
    }
}

fn unsupported(detail: String) -> MediaError {
    MediaError::Unsupported {
        what: "AAC configuration",
        detail,
    }
}
