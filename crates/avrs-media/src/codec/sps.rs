//! What the media layer needs from an H.264 sequence parameter set: picture
//! size (after cropping, with field coding), chroma format, bit depths and the
//! frame rate when the VUI carries timing. The bit-level parsing is
//! h264-reader's.

use h264_reader::nal::sps::{FrameMbsFlags, SeqParameterSet};
use h264_reader::rbsp::{BitReader, ByteReader};

use crate::codec::nal::{NAL_SPS, nal_type};
use crate::error::{MediaError, Result};

/// SPS NAL units are a few dozen bytes; a cap keeps a hostile one cheap.
pub const MAX_SPS_LEN: usize = 4096;

/// The fields of a sequence parameter set the muxers need.
#[derive(Debug, Clone, PartialEq)]
pub struct SpsInfo {
    pub profile_idc: u8,
    /// The `constraint_set` flags byte (the codec string's middle byte).
    pub constraint_flags: u8,
    pub level_idc: u8,
    /// Display width in pixels, after cropping.
    pub width: u32,
    /// Display height in pixels, after cropping, counting both fields.
    pub height: u32,
    /// Whether pictures are always frames (`frame_mbs_only_flag`).
    pub progressive: bool,
    /// `chroma_format_idc`: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format_idc: u8,
    pub bit_depth_luma: u8,
    pub bit_depth_chroma: u8,
    /// Frames per second from the VUI timing information, if present and sane.
    pub frame_rate: Option<f64>,
}

/// Parses an SPS NAL unit (with its one-byte header, emulation prevention
/// bytes in place).
pub fn parse_sps(nal: &[u8]) -> Result<SpsInfo> {
    if nal.len() > MAX_SPS_LEN {
        return Err(MediaError::TooLarge {
            what: "SPS",
            size: nal.len(),
            max: MAX_SPS_LEN,
        });
    }
    // Header, profile_idc, constraint flags, level_idc, then at least one
    // byte of exp-Golomb fields.
    if nal.len() < 5 {
        return Err(MediaError::Truncated {
            what: "SPS",
            need: 5,
            have: nal.len(),
        });
    }
    if nal_type(nal) != Some(NAL_SPS) {
        return Err(MediaError::Malformed {
            what: "SPS",
            reason: format!("NAL unit type {}, expected 7", nal[0] & 0x1F),
        });
    }
    let sps = SeqParameterSet::from_bits(BitReader::new(ByteReader::skipping_h264_header(nal)))
        .map_err(|e| malformed(format!("{e:?}")))?;
    let (width, height) = sps
        .pixel_dimensions()
        .map_err(|e| malformed(format!("picture size: {e:?}")))?;
    if width == 0 || height == 0 {
        return Err(malformed(format!("empty picture {width}x{height}")));
    }
    Ok(SpsInfo {
        profile_idc: nal[1],
        constraint_flags: nal[2],
        level_idc: nal[3],
        width,
        height,
        progressive: matches!(sps.frame_mbs_flags, FrameMbsFlags::Frames),
        chroma_format_idc: chroma_format_idc(&sps)?,
        bit_depth_luma: sps.chroma_info.bit_depth_luma_minus8 + 8,
        bit_depth_chroma: sps.chroma_info.bit_depth_chroma_minus8 + 8,
        frame_rate: frame_rate(&sps),
    })
}

fn malformed(reason: String) -> MediaError {
    MediaError::Malformed {
        what: "SPS",
        reason,
    }
}

fn chroma_format_idc(sps: &SeqParameterSet) -> Result<u8> {
    match sps.chroma_info.chroma_format.to_u32() {
        idc @ 0..=3 => Ok(idc as u8),
        idc => Err(malformed(format!("chroma_format_idc {idc}"))),
    }
}

/// Frame rate from `time_scale / (2 * num_units_in_tick)` (one frame is two
/// field ticks), when both are set and the result is plausible.
fn frame_rate(sps: &SeqParameterSet) -> Option<f64> {
    let timing = sps.vui_parameters.as_ref()?.timing_info.as_ref()?;
    if timing.num_units_in_tick == 0 || timing.time_scale == 0 {
        return None;
    }
    let fps = f64::from(timing.time_scale) / (2.0 * f64::from(timing.num_units_in_tick));
    (fps.is_finite() && fps <= 1000.0).then_some(fps)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPS of `ffmpeg -f lavfi -i testsrc2=size=1280x720:rate=30 -c:v libx264`
    /// (High, level 3.1, VUI timing 30 fps).
    const SPS_720P_HIGH: [u8; 26] = [
        0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03,
        0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60,
    ];
    /// 1920x1080 Constrained Baseline: coded 1088 lines, cropped to 1080.
    const SPS_1080P_CROPPED: [u8; 25] = [
        0x67, 0x42, 0xc0, 0x28, 0xda, 0x01, 0xe0, 0x08, 0x9f, 0x97, 0x01, 0x10, 0x00, 0x00, 0x03,
        0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x83, 0x2a,
    ];
    /// 720x576 interlaced (`-x264-params interlaced=1`): frame_mbs_only_flag 0.
    const SPS_576I: [u8; 24] = [
        0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xb4, 0x24, 0xd8, 0x08, 0x80, 0x00, 0x00, 0x03,
        0x00, 0x80, 0x00, 0x00, 0x19, 0x0f, 0x8a, 0x14, 0xcb,
    ];

    #[test]
    fn parses_720p_high() {
        let info = parse_sps(&SPS_720P_HIGH).unwrap();
        assert_eq!((info.width, info.height), (1280, 720));
        assert_eq!(
            (info.profile_idc, info.constraint_flags, info.level_idc),
            (100, 0, 31)
        );
        assert!(info.progressive);
        assert_eq!(info.chroma_format_idc, 1);
        assert_eq!((info.bit_depth_luma, info.bit_depth_chroma), (8, 8));
        assert_eq!(info.frame_rate, Some(30.0));
    }

    #[test]
    fn applies_cropping() {
        let info = parse_sps(&SPS_1080P_CROPPED).unwrap();
        assert_eq!((info.width, info.height), (1920, 1080));
        assert_eq!(info.constraint_flags, 0xC0);
        assert_eq!(info.frame_rate, Some(25.0));
    }

    #[test]
    fn counts_both_fields_when_interlaced() {
        let info = parse_sps(&SPS_576I).unwrap();
        assert!(!info.progressive);
        assert_eq!((info.width, info.height), (720, 576));
    }

    #[test]
    fn rejects_wrong_type_short_and_huge() {
        let mut pps = SPS_720P_HIGH;
        pps[0] = 0x68;
        assert!(matches!(parse_sps(&pps), Err(MediaError::Malformed { .. })));
        assert!(matches!(
            parse_sps(&[0x67, 0x64, 0]),
            Err(MediaError::Truncated { need: 5, .. })
        ));
        let huge = vec![0x67; MAX_SPS_LEN + 1];
        assert!(matches!(parse_sps(&huge), Err(MediaError::TooLarge { .. })));
    }

    #[test]
    fn cut_sps_is_malformed() {
        assert!(matches!(
            parse_sps(&SPS_720P_HIGH[..8]),
            Err(MediaError::Malformed { .. })
        ));
    }
}
