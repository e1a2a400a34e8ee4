//! FLV/RTMP audio tag payloads: legacy AAC (`AUDIODATA` + `AACAUDIODATA`)
//! and Enhanced RTMP audio (sound format 9 with FourCC `mp4a`). Other
//! formats are refused with an error that names them.

use crate::codec::cursor::Cursor;
use crate::error::{MediaError, Result};
use crate::flv::video::fourcc_name;

const WHAT: &str = "FLV audio tag";
/// Sound format of AAC.
pub const SOUND_FORMAT_AAC: u8 = 10;
/// Sound format announcing an Enhanced RTMP audio header.
pub const SOUND_FORMAT_EX_HEADER: u8 = 9;
/// First byte of every AAC tag: AAC, "44 kHz", 16-bit, stereo. The FLV spec
/// fixes these for AAC; the real values are in the AudioSpecificConfig.
pub const AAC_TAG_FLAGS: u8 = 0xAF;

/// A parsed audio tag payload; slices borrow from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioTag<'a> {
    /// An `AudioSpecificConfig`.
    AacSequenceHeader(&'a [u8]),
    /// One raw AAC frame (no ADTS header).
    AacFrame(&'a [u8]),
    /// Enhanced SequenceEnd.
    AacEndOfSequence,
    /// Enhanced MultichannelConfig: a channel layout, redundant for AAC.
    MultichannelConfig(&'a [u8]),
}

/// Enhanced RTMP audio packet types.
mod ex {
    pub const SEQUENCE_START: u8 = 0;
    pub const CODED_FRAMES: u8 = 1;
    pub const SEQUENCE_END: u8 = 2;
    pub const MULTICHANNEL_CONFIG: u8 = 4;
    pub const MULTITRACK: u8 = 5;
    pub const MOD_EX: u8 = 7;
}

/// Parses an audio tag payload (the FLV tag data or RTMP message body).
pub fn parse_audio_tag(data: &[u8]) -> Result<AudioTag<'_>> {
    let mut c = Cursor::new(data, WHAT);
    let first = c.u8()?;
    match first >> 4 {
        SOUND_FORMAT_AAC => parse_legacy_aac(c),
        SOUND_FORMAT_EX_HEADER => parse_enhanced(first & 0x0F, c),
        format => Err(MediaError::Unsupported {
            what: "audio codec",
            detail: format!("sound format {format} ({})", sound_format_name(format)),
        }),
    }
}

fn parse_legacy_aac(mut c: Cursor<'_>) -> Result<AudioTag<'_>> {
    match c.u8()? {
        0 => Ok(AudioTag::AacSequenceHeader(c.rest())),
        1 => Ok(AudioTag::AacFrame(c.rest())),
        other => Err(malformed(format!("AACPacketType {other}"))),
    }
}

fn parse_enhanced(packet_type: u8, mut c: Cursor<'_>) -> Result<AudioTag<'_>> {
    match packet_type {
        ex::MULTITRACK => return Err(unsupported_packet("multitrack")),
        ex::MOD_EX => return Err(unsupported_packet("ModEx")),
        _ => {}
    }
    let fourcc = c.array::<4>()?;
    if &fourcc != b"mp4a" {
        return Err(MediaError::Unsupported {
            what: "audio codec",
            detail: format!("enhanced fourcc {}", fourcc_name(fourcc)),
        });
    }
    match packet_type {
        ex::SEQUENCE_START => Ok(AudioTag::AacSequenceHeader(c.rest())),
        ex::CODED_FRAMES => Ok(AudioTag::AacFrame(c.rest())),
        ex::SEQUENCE_END => Ok(AudioTag::AacEndOfSequence),
        ex::MULTICHANNEL_CONFIG => Ok(AudioTag::MultichannelConfig(c.rest())),
        other => Err(malformed(format!("reserved enhanced packet type {other}"))),
    }
}

/// The 2-byte header of an AAC sequence header tag.
pub fn aac_sequence_header_prefix() -> [u8; 2] {
    [AAC_TAG_FLAGS, 0]
}

/// The 2-byte header of a raw AAC frame tag.
pub fn aac_frame_prefix() -> [u8; 2] {
    [AAC_TAG_FLAGS, 1]
}

/// Human name of an FLV sound format, for error messages.
pub fn sound_format_name(format: u8) -> &'static str {
    match format {
        0 => "linear PCM, platform endian",
        1 => "ADPCM",
        2 => "MP3",
        3 => "linear PCM, little endian",
        4 => "Nellymoser 16 kHz mono",
        5 => "Nellymoser 8 kHz mono",
        6 => "Nellymoser",
        7 => "G.711 A-law",
        8 => "G.711 mu-law",
        9 => "enhanced header",
        10 => "AAC",
        11 => "Speex",
        14 => "MP3 8 kHz",
        15 => "device-specific",
        _ => "reserved",
    }
}

fn malformed(reason: String) -> MediaError {
    MediaError::Malformed { what: WHAT, reason }
}

fn unsupported_packet(name: &str) -> MediaError {
    MediaError::Unsupported {
        what: "enhanced RTMP audio packet",
        detail: name.into(),
    }
}
