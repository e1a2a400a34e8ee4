//! FLV/RTMP video tag payloads: legacy AVC (`VIDEODATA` + `AVCVIDEOPACKET`)
//! and Enhanced RTMP (`IsExHeader`, FourCC). Only H.264 is accepted; other
//! codecs are refused with an error that names them.

use crate::codec::cursor::Cursor;
use crate::error::{MediaError, Result};

const WHAT: &str = "FLV video tag";
/// Legacy codec id of AVC (H.264).
pub const CODEC_ID_AVC: u8 = 7;
/// Frame type of a keyframe (a seekable picture).
pub const FRAME_TYPE_KEY: u8 = 1;
/// Frame type of an inter frame.
pub const FRAME_TYPE_INTER: u8 = 2;
/// Frame type of a video info/command frame: no picture.
pub const FRAME_TYPE_COMMAND: u8 = 5;
/// Composition time is a signed 24-bit field.
pub const MAX_COMPOSITION_TIME: i32 = 0x7F_FFFF;
pub const MIN_COMPOSITION_TIME: i32 = -0x80_0000;

/// A parsed video tag payload; slices borrow from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoTag<'a> {
    /// An `AVCDecoderConfigurationRecord` (legacy AVCPacketType 0 or
    /// enhanced SequenceStart).
    AvcSequenceHeader(&'a [u8]),
    /// One picture as AVCC NAL units.
    AvcFrame {
        keyframe: bool,
        /// PTS minus DTS, milliseconds.
        composition_time: i32,
        data: &'a [u8],
    },
    /// The publisher ended the sequence (AVCPacketType 2 / SequenceEnd).
    AvcEndOfSequence,
    /// A video info/command frame (frame type 5): no picture.
    Command,
    /// Enhanced RTMP metadata (AMF, such as colour information): no picture.
    Metadata(&'a [u8]),
}

/// Enhanced RTMP video packet types.
mod ex {
    pub const SEQUENCE_START: u8 = 0;
    pub const CODED_FRAMES: u8 = 1;
    pub const SEQUENCE_END: u8 = 2;
    pub const CODED_FRAMES_X: u8 = 3;
    pub const METADATA: u8 = 4;
    pub const MPEG2TS_SEQUENCE_START: u8 = 5;
    pub const MULTITRACK: u8 = 6;
    pub const MOD_EX: u8 = 7;
}

/// Parses a video tag payload (the FLV tag data or RTMP message body).
pub fn parse_video_tag(data: &[u8]) -> Result<VideoTag<'_>> {
    let mut c = Cursor::new(data, WHAT);
    let first = c.u8()?;
    if first & 0x80 != 0 {
        parse_enhanced(first, c)
    } else {
        parse_legacy(first, c)
    }
}

fn parse_legacy(first: u8, mut c: Cursor<'_>) -> Result<VideoTag<'_>> {
    let frame_type = first >> 4;
    check_frame_type(frame_type)?;
    let codec_id = first & 0x0F;
    if codec_id != CODEC_ID_AVC {
        return Err(MediaError::Unsupported {
            what: "video codec",
            detail: format!("video codec id {codec_id} ({})", codec_id_name(codec_id)),
        });
    }
    if frame_type == FRAME_TYPE_COMMAND {
        return Ok(VideoTag::Command);
    }
    let packet_type = c.u8()?;
    let composition_time = c.i24()?;
    match packet_type {
        0 => Ok(VideoTag::AvcSequenceHeader(c.rest())),
        1 => Ok(VideoTag::AvcFrame {
            keyframe: frame_type == FRAME_TYPE_KEY,
            composition_time,
            data: c.rest(),
        }),
        2 => Ok(VideoTag::AvcEndOfSequence),
        other => Err(malformed(format!("AVCPacketType {other}"))),
    }
}

fn parse_enhanced(first: u8, mut c: Cursor<'_>) -> Result<VideoTag<'_>> {
    let frame_type = (first >> 4) & 0x07;
    check_frame_type(frame_type)?;
    let packet_type = first & 0x0F;
    if frame_type == FRAME_TYPE_COMMAND && packet_type != ex::METADATA {
        return Ok(VideoTag::Command);
    }
    match packet_type {
        ex::MULTITRACK => return Err(unsupported_packet("multitrack")),
        ex::MOD_EX => return Err(unsupported_packet("ModEx")),
        _ => {}
    }
    let fourcc = c.array::<4>()?;
    if &fourcc != b"avc1" {
        return Err(MediaError::Unsupported {
            what: "video codec",
            detail: format!("enhanced fourcc {}", fourcc_name(fourcc)),
        });
    }
    match packet_type {
        ex::SEQUENCE_START => Ok(VideoTag::AvcSequenceHeader(c.rest())),
        ex::CODED_FRAMES | ex::CODED_FRAMES_X => {
            let composition_time = if packet_type == ex::CODED_FRAMES {
                c.i24()?
            } else {
                0
            };
            Ok(VideoTag::AvcFrame {
                keyframe: frame_type == FRAME_TYPE_KEY,
                composition_time,
                data: c.rest(),
            })
        }
        ex::SEQUENCE_END => Ok(VideoTag::AvcEndOfSequence),
        ex::METADATA => Ok(VideoTag::Metadata(c.rest())),
        ex::MPEG2TS_SEQUENCE_START => Err(unsupported_packet("MPEG2TSSequenceStart")),
        other => Err(malformed(format!("reserved enhanced packet type {other}"))),
    }
}

fn check_frame_type(frame_type: u8) -> Result<()> {
    if (1..=5).contains(&frame_type) {
        Ok(())
    } else {
        Err(malformed(format!("frame type {frame_type}")))
    }
}

/// The 5-byte legacy header of an AVC sequence header tag.
pub fn avc_sequence_header_prefix() -> [u8; 5] {
    [(FRAME_TYPE_KEY << 4) | CODEC_ID_AVC, 0, 0, 0, 0]
}

/// The 5-byte legacy header of an AVC end-of-sequence tag (the whole payload).
pub fn avc_end_of_sequence() -> [u8; 5] {
    [(FRAME_TYPE_KEY << 4) | CODEC_ID_AVC, 2, 0, 0, 0]
}

/// The 5-byte legacy header of an AVC picture tag; `composition_time` (ms)
/// must fit the signed 24-bit field.
pub fn avc_frame_prefix(keyframe: bool, composition_time: i32) -> Result<[u8; 5]> {
    if !(MIN_COMPOSITION_TIME..=MAX_COMPOSITION_TIME).contains(&composition_time) {
        return Err(MediaError::TooLarge {
            what: "FLV composition time (ms)",
            size: composition_time.unsigned_abs() as usize,
            max: MAX_COMPOSITION_TIME as usize,
        });
    }
    let frame_type = if keyframe {
        FRAME_TYPE_KEY
    } else {
        FRAME_TYPE_INTER
    };
    let [_, c1, c2, c3] = composition_time.to_be_bytes();
    Ok([(frame_type << 4) | CODEC_ID_AVC, 1, c1, c2, c3])
}

/// Human name of a legacy FLV video codec id, for error messages.
pub fn codec_id_name(codec_id: u8) -> &'static str {
    match codec_id {
        1 => "JPEG",
        2 => "Sorenson H.263",
        3 => "Screen video",
        4 => "On2 VP6",
        5 => "On2 VP6 with alpha",
        6 => "Screen video v2",
        7 => "AVC",
        12 => "HEVC (non-standard extension)",
        13 => "AV1 (non-standard extension)",
        _ => "unknown",
    }
}

/// A FourCC as text when printable, else as hex.
pub(crate) fn fourcc_name(fourcc: [u8; 4]) -> String {
    if fourcc.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        fourcc.iter().map(|&b| char::from(b)).collect()
    } else {
        format!("0x{:08X}", u32::from_be_bytes(fourcc))
    }
}

fn malformed(reason: String) -> MediaError {
    MediaError::Malformed { what: WHAT, reason }
}

fn unsupported_packet(name: &str) -> MediaError {
    MediaError::Unsupported {
        what: "enhanced RTMP video packet",
        detail: name.into(),
    }
}
