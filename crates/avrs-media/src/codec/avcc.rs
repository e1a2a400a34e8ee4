//! `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15 §5.3.3.1): the H.264
//! configuration that FLV/RTMP sequence headers and the MP4 `avcC` box carry.

use bytes::Bytes;

use crate::codec::cursor::Cursor;
use crate::codec::nal::{NAL_PPS, NAL_SPS, START_CODE, annexb_nal_units, nal_type};
use crate::codec::sps::{SpsInfo, parse_sps};
use crate::error::{MediaError, Result};
use crate::frame::VideoConfig;

const WHAT: &str = "AVCDecoderConfigurationRecord";
/// The record's count of SPS is a 5-bit field.
const MAX_SPS_COUNT: usize = 31;
/// The record's count of PPS is an 8-bit field.
const MAX_PPS_COUNT: usize = 255;
/// `nal_unit_type` of a sequence parameter set extension.
const NAL_SPS_EXT: u8 = 13;

/// A parsed `AVCDecoderConfigurationRecord`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcDecoderConfig {
    pub profile_indication: u8,
    pub profile_compatibility: u8,
    pub level_indication: u8,
    /// Bytes of each NAL unit length prefix in frames: 1, 2 or 4.
    pub nal_length_size: u8,
    /// SPS NAL units, headers included, emulation prevention in place.
    pub sps: Vec<Vec<u8>>,
    /// PPS NAL units.
    pub pps: Vec<Vec<u8>>,
    /// The extension that High profiles (100, 110, 122, 144) may carry.
    pub high_profile: Option<HighProfileExtension>,
}

/// Chroma format and bit depths that follow the PPS list for High profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HighProfileExtension {
    pub chroma_format_idc: u8,
    pub bit_depth_luma: u8,
    pub bit_depth_chroma: u8,
    /// SPS extension NAL units (type 13).
    pub sps_ext: Vec<Vec<u8>>,
}

impl AvcDecoderConfig {
    /// Parses a record. At least one SPS and one PPS are required: without
    /// them nothing can be decoded or remuxed.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(data, WHAT);
        let version = c.u8()?;
        if version != 1 {
            return Err(MediaError::Unsupported {
                what: "AVCDecoderConfigurationRecord version",
                detail: version.to_string(),
            });
        }
        let [profile_indication, profile_compatibility, level_indication] = c.array()?;
        let nal_length_size = (c.u8()? & 0x03) + 1;
        if nal_length_size == 3 {
            return Err(malformed(
                "lengthSizeMinusOne 2 (only 0, 1 and 3 are defined)",
            ));
        }
        let sps_count = usize::from(c.u8()? & 0x1F);
        let sps = read_units(&mut c, sps_count, NAL_SPS)?;
        let pps_count = usize::from(c.u8()?);
        let pps = read_units(&mut c, pps_count, NAL_PPS)?;
        if sps.is_empty() || pps.is_empty() {
            return Err(malformed("no SPS or no PPS"));
        }
        let high_profile = if is_high_profile(profile_indication) {
            // Tolerated when absent or cut short, as decoders do: many
            // encoders never wrote it, and the SPS holds the same facts.
            HighProfileExtension::parse(c.rest()).ok()
        } else {
            None
        };
        Ok(Self {
            profile_indication,
            profile_compatibility,
            level_indication,
            nal_length_size,
            sps,
            pps,
            high_profile,
        })
    }

    /// Builds a record (4-byte NAL lengths) from SPS and PPS NAL units, such
    /// as those found in an MPEG-TS stream. Profile and level come from the
    /// first SPS; High profiles get the extension.
    pub fn from_parameter_sets(sps: &[&[u8]], pps: &[&[u8]]) -> Result<Self> {
        check_units(sps, NAL_SPS, MAX_SPS_COUNT)?;
        check_units(pps, NAL_PPS, MAX_PPS_COUNT)?;
        let info = parse_sps(sps[0])?;
        let high_profile = is_high_profile(info.profile_idc).then(|| HighProfileExtension {
            chroma_format_idc: info.chroma_format_idc,
            bit_depth_luma: info.bit_depth_luma,
            bit_depth_chroma: info.bit_depth_chroma,
            sps_ext: Vec::new(),
        });
        Ok(Self {
            profile_indication: info.profile_idc,
            profile_compatibility: info.constraint_flags,
            level_indication: info.level_idc,
            nal_length_size: 4,
            sps: sps.iter().map(|u| u.to_vec()).collect(),
            pps: pps.iter().map(|u| u.to_vec()).collect(),
            high_profile,
        })
    }

    /// Collects the SPS and PPS of an Annex-B stream (for instance the first
    /// access unit of an MPEG-TS stream) into a record.
    pub fn from_annexb(data: &[u8]) -> Result<Self> {
        let units: Vec<&[u8]> = annexb_nal_units(data)?.collect();
        let of_type = |t| {
            units
                .iter()
                .copied()
                .filter(|u| nal_type(u) == Some(t))
                .collect::<Vec<_>>()
        };
        let (sps, pps) = (of_type(NAL_SPS), of_type(NAL_PPS));
        if sps.is_empty() || pps.is_empty() {
            return Err(MediaError::MissingConfig {
                what: "H.264 SPS/PPS in Annex-B stream",
            });
        }
        Self::from_parameter_sets(&sps, &pps)
    }

    /// Serialises the record.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        check_lengths(&self.sps, MAX_SPS_COUNT, "SPS")?;
        check_lengths(&self.pps, MAX_PPS_COUNT, "PPS")?;
        if !matches!(self.nal_length_size, 1 | 2 | 4) {
            return Err(malformed("NAL length size must be 1, 2 or 4"));
        }
        let mut out = vec![
            1,
            self.profile_indication,
            self.profile_compatibility,
            self.level_indication,
            0xFC | (self.nal_length_size - 1),
            0xE0 | self.sps.len() as u8,
        ];
        write_units(&self.sps, &mut out);
        out.push(self.pps.len() as u8);
        write_units(&self.pps, &mut out);
        if let Some(ext) = &self.high_profile {
            ext.write(&mut out)?;
        }
        Ok(out)
    }

    /// RFC 6381 codec string, `avc1.PPCCLL` in uppercase hex.
    pub fn codec_string(&self) -> String {
        format!(
            "avc1.{:02X}{:02X}{:02X}",
            self.profile_indication, self.profile_compatibility, self.level_indication
        )
    }

    /// Facts of the first SPS (picture size, frame rate).
    pub fn sps_info(&self) -> Result<SpsInfo> {
        parse_sps(&self.sps[0])
    }

    /// SPS then PPS, each behind a 4-byte start code: what an MPEG-TS stream
    /// repeats before every IDR picture.
    pub fn parameter_sets_annexb(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for unit in self.sps.iter().chain(&self.pps) {
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(unit);
        }
        out
    }

    /// The shared [`VideoConfig`], keeping `raw` as the `avcc` bytes.
    pub fn to_video_config(&self, raw: Bytes) -> Result<VideoConfig> {
        let info = self.sps_info()?;
        Ok(VideoConfig {
            avcc: raw,
            codec: self.codec_string(),
            width: info.width,
            height: info.height,
            nal_length_size: self.nal_length_size,
        })
    }
}

impl HighProfileExtension {
    fn parse(data: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(data, "AVCDecoderConfigurationRecord High profile extension");
        let chroma_format_idc = c.u8()? & 0x03;
        let bit_depth_luma = (c.u8()? & 0x07) + 8;
        let bit_depth_chroma = (c.u8()? & 0x07) + 8;
        let count = usize::from(c.u8()?);
        let sps_ext = read_units(&mut c, count, NAL_SPS_EXT)?;
        Ok(Self {
            chroma_format_idc,
            bit_depth_luma,
            bit_depth_chroma,
            sps_ext,
        })
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        check_lengths(&self.sps_ext, 255, "SPS extension")?;
        let depth = |bits: u8| bits.saturating_sub(8) & 0x07;
        out.push(0xFC | (self.chroma_format_idc & 0x03));
        out.push(0xF8 | depth(self.bit_depth_luma));
        out.push(0xF8 | depth(self.bit_depth_chroma));
        out.push(self.sps_ext.len() as u8);
        write_units(&self.sps_ext, out);
        Ok(())
    }
}

/// Parses a record and derives the shared [`VideoConfig`] from it.
pub fn video_config_from_avcc(avcc: &[u8]) -> Result<VideoConfig> {
    AvcDecoderConfig::parse(avcc)?.to_video_config(Bytes::copy_from_slice(avcc))
}

/// Builds a [`VideoConfig`] (with a new record) from SPS and PPS NAL units.
pub fn video_config_from_parameter_sets(sps: &[&[u8]], pps: &[&[u8]]) -> Result<VideoConfig> {
    let record = AvcDecoderConfig::from_parameter_sets(sps, pps)?;
    let raw = Bytes::from(record.to_bytes()?);
    record.to_video_config(raw)
}

fn is_high_profile(profile_idc: u8) -> bool {
    matches!(profile_idc, 100 | 110 | 122 | 144)
}

fn malformed(reason: &str) -> MediaError {
    MediaError::Malformed {
        what: WHAT,
        reason: reason.into(),
    }
}

/// Reads `count` u16-length-prefixed NAL units of type `expected`.
fn read_units(c: &mut Cursor<'_>, count: usize, expected: u8) -> Result<Vec<Vec<u8>>> {
    // `count` is at most 255 and each unit consumes input: bounded.
    let mut units = Vec::with_capacity(count);
    for _ in 0..count {
        let length = usize::from(c.u16()?);
        let unit = c.take(length)?;
        if nal_type(unit) != Some(expected) {
            return Err(MediaError::Malformed {
                what: WHAT,
                reason: format!(
                    "parameter set of NAL type {:?}, expected {expected}",
                    nal_type(unit)
                ),
            });
        }
        units.push(unit.to_vec());
    }
    Ok(units)
}

fn check_units(units: &[&[u8]], expected: u8, max: usize) -> Result<()> {
    if units.is_empty() {
        return Err(MediaError::MissingConfig {
            what: if expected == NAL_SPS {
                "H.264 SPS"
            } else {
                "H.264 PPS"
            },
        });
    }
    if units.len() > max {
        return Err(MediaError::TooLarge {
            what: "parameter set count",
            size: units.len(),
            max,
        });
    }
    for unit in units {
        if nal_type(unit) != Some(expected) {
            return Err(malformed("parameter set of the wrong NAL type"));
        }
        if unit.len() > usize::from(u16::MAX) {
            return Err(MediaError::TooLarge {
                what: "parameter set",
                size: unit.len(),
                max: usize::from(u16::MAX),
            });
        }
    }
    Ok(())
}

fn check_lengths(units: &[Vec<u8>], max: usize, what: &'static str) -> Result<()> {
    if units.len() > max {
        return Err(MediaError::TooLarge {
            what,
            size: units.len(),
            max,
        });
    }
    match units.iter().find(|u| u.len() > usize::from(u16::MAX)) {
        Some(u) => Err(MediaError::TooLarge {
            what,
            size: u.len(),
            max: usize::from(u16::MAX),
        }),
        None => Ok(()),
    }
}

fn write_units(units: &[Vec<u8>], out: &mut Vec<u8>) {
    for unit in units {
        // Lengths were checked against u16::MAX by the caller.
        out.extend_from_slice(&(unit.len() as u16).to_be_bytes());
        out.extend_from_slice(unit);
    }
}
