//! H.264 NAL unit framing: Annex-B (start codes, used by MPEG-TS) and AVCC
//! (length prefixes, used by FLV/RTMP and MP4).
//!
//! Conversions copy NAL unit bytes verbatim: emulation-prevention bytes are
//! part of a NAL unit in both framings, so they are never added or removed.

use crate::codec::cursor::Cursor;
use crate::error::{MediaError, Result};

/// `nal_unit_type` of a non-IDR coded slice.
pub const NAL_SLICE: u8 = 1;
/// `nal_unit_type` of an IDR coded slice.
pub const NAL_IDR: u8 = 5;
/// `nal_unit_type` of supplemental enhancement information.
pub const NAL_SEI: u8 = 6;
/// `nal_unit_type` of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// `nal_unit_type` of a picture parameter set.
pub const NAL_PPS: u8 = 8;
/// `nal_unit_type` of an access unit delimiter.
pub const NAL_AUD: u8 = 9;

/// Four-byte Annex-B start code, the form written before every NAL unit.
pub const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The `nal_unit_type` (low 5 bits of the first byte), if the unit is not empty.
pub fn nal_type(nal: &[u8]) -> Option<u8> {
    nal.first().map(|header| header & 0x1F)
}

/// Splits an Annex-B byte stream into NAL units (without start codes).
///
/// The stream may begin with zero bytes (`leading_zero_8bits`), and any
/// other bytes before the first start code are an error: they would be
/// silently lost otherwise. Empty NAL units are skipped, and zero bytes
/// before a start code (`trailing_zero_8bits`, or the first byte of a
/// four-byte start code) are not part of the unit before it.
pub fn annexb_nal_units(data: &[u8]) -> Result<AnnexBNalUnits<'_>> {
    let first = find_start_code(data, 0);
    let prefix_end = first.map_or(data.len(), |(start, _)| start);
    if data[..prefix_end].iter().any(|&b| b != 0) {
        return Err(MediaError::Malformed {
            what: "Annex-B stream",
            reason: "bytes before the first start code".into(),
        });
    }
    Ok(AnnexBNalUnits {
        data,
        next: first.map(|(_, after)| after),
    })
}

/// Iterator over the NAL units of an Annex-B stream; see [`annexb_nal_units`].
#[derive(Debug, Clone)]
pub struct AnnexBNalUnits<'a> {
    data: &'a [u8],
    /// Where the next unit's bytes begin (just after a start code).
    next: Option<usize>,
}

impl<'a> Iterator for AnnexBNalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let begin = self.next?;
            let (end, following) = match find_start_code(self.data, begin) {
                Some((start, after)) => (start, Some(after)),
                None => (self.data.len(), None),
            };
            self.next = following;
            let unit = trim_trailing_zeros(&self.data[begin..end]);
            if !unit.is_empty() {
                return Some(unit);
            }
        }
    }
}

/// Finds the next `00 00 01` at or after `from`: returns its offset and the
/// offset just after it.
fn find_start_code(data: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i + 3 <= data.len() {
        match data[i + 2] {
            // `data[i + 2]` cannot end a start code that begins at i, i+1 or
            // i+2 unless it is 0 or 1, so skip ahead.
            b if b > 1 => i += 3,
            1 if data[i] == 0 && data[i + 1] == 0 => return Some((i, i + 3)),
            _ => i += 1,
        }
    }
    None
}

/// A NAL unit never ends in a zero byte (emulation prevention guarantees it),
/// so trailing zeros belong to the next start code or to stream padding.
fn trim_trailing_zeros(unit: &[u8]) -> &[u8] {
    let len = unit.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &unit[..len]
}

/// Splits AVCC data (each NAL unit preceded by a big-endian length of
/// `length_size` bytes, 1 to 4) into NAL units. Zero-length units are skipped.
pub fn avcc_nal_units(data: &[u8], length_size: u8) -> Result<AvccNalUnits<'_>> {
    if !(1..=4).contains(&length_size) {
        return Err(MediaError::Malformed {
            what: "AVCC NAL length size",
            reason: format!("{length_size} byte(s), expected 1 to 4"),
        });
    }
    Ok(AvccNalUnits {
        cursor: Cursor::new(data, "AVCC NAL unit"),
        length_size,
    })
}

/// Iterator over length-prefixed NAL units; see [`avcc_nal_units`]. Yields an
/// error (once, then ends) when a length runs past the data.
#[derive(Debug, Clone)]
pub struct AvccNalUnits<'a> {
    cursor: Cursor<'a>,
    length_size: u8,
}

impl<'a> AvccNalUnits<'a> {
    fn read_unit(&mut self) -> Result<&'a [u8]> {
        let mut length = 0usize;
        for byte in self.cursor.take(usize::from(self.length_size))? {
            length = (length << 8) | usize::from(*byte);
        }
        self.cursor.take(length)
    }
}

impl<'a> Iterator for AvccNalUnits<'a> {
    type Item = Result<&'a [u8]>;

    fn next(&mut self) -> Option<Result<&'a [u8]>> {
        while !self.cursor.is_empty() {
            match self.read_unit() {
                Ok([]) => continue,
                Ok(unit) => return Some(Ok(unit)),
                Err(e) => {
                    // Stop after the first error: the framing is lost.
                    self.cursor = Cursor::new(&[], "AVCC NAL unit");
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// Appends `unit` with a 4-byte length prefix.
pub fn write_avcc_unit(unit: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let length = u32::try_from(unit.len()).map_err(|_| MediaError::TooLarge {
        what: "NAL unit",
        size: unit.len(),
        max: u32::MAX as usize,
    })?;
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(unit);
    Ok(())
}

/// Converts an Annex-B stream to AVCC with 4-byte lengths, appending to `out`.
pub fn annexb_to_avcc(data: &[u8], out: &mut Vec<u8>) -> Result<()> {
    for unit in annexb_nal_units(data)? {
        write_avcc_unit(unit, out)?;
    }
    Ok(())
}

/// Converts AVCC data with `length_size`-byte lengths to Annex-B with 4-byte
/// start codes, appending to `out`. On error `out` may hold a partial result.
pub fn avcc_to_annexb(data: &[u8], length_size: u8, out: &mut Vec<u8>) -> Result<()> {
    for unit in avcc_nal_units(data, length_size)? {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(unit?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let data = [
            0, 0, 0, 1, 0x67, 0xAA, 0, 0, 1, 0x68, 0xBB, 0, 0, 0, 1, 0x65,
        ];
        let units: Vec<_> = annexb_nal_units(&data).unwrap().collect();
        assert_eq!(units, vec![&[0x67, 0xAA][..], &[0x68, 0xBB], &[0x65]]);
    }

    #[test]
    fn keeps_emulation_prevention_bytes() {
        let data = [0, 0, 1, 0x65, 0, 0, 3, 1, 0x80];
        let mut avcc = Vec::new();
        annexb_to_avcc(&data, &mut avcc).unwrap();
        assert_eq!(avcc, [0, 0, 0, 6, 0x65, 0, 0, 3, 1, 0x80]);
        let mut back = Vec::new();
        avcc_to_annexb(&avcc, 4, &mut back).unwrap();
        assert_eq!(back, [0, 0, 0, 1, 0x65, 0, 0, 3, 1, 0x80]);
    }

    #[test]
    fn skips_empty_units_and_trailing_zeros() {
        let data = [0, 0, 1, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 0];
        let units: Vec<_> = annexb_nal_units(&data).unwrap().collect();
        assert_eq!(units, vec![&[0x09, 0xF0][..]]);
    }

    #[test]
    fn leading_zeros_are_allowed_but_not_garbage() {
        assert_eq!(annexb_nal_units(&[0, 0, 0, 0, 1, 0x09]).unwrap().count(), 1);
        assert!(matches!(
            annexb_nal_units(&[0x42, 0, 0, 1, 0x09]),
            Err(MediaError::Malformed { .. })
        ));
        assert!(matches!(
            annexb_nal_units(&[0x65, 0x88]),
            Err(MediaError::Malformed { .. })
        ));
        assert_eq!(annexb_nal_units(&[]).unwrap().count(), 0);
    }

    #[test]
    fn avcc_with_short_lengths() {
        let data = [2, 0x09, 0xF0, 1, 0x65];
        let units: Vec<_> = avcc_nal_units(&data, 1)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(units, vec![&[0x09, 0xF0][..], &[0x65]]);
        let mut out = Vec::new();
        avcc_to_annexb(&[0, 1, 0x65], 2, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x65]);
    }

    #[test]
    fn avcc_length_past_end_is_truncated_once() {
        let mut units = avcc_nal_units(&[0, 0, 0, 9, 0x65], 4).unwrap();
        assert_eq!(
            units.next(),
            Some(Err(MediaError::Truncated {
                what: "AVCC NAL unit",
                need: 13,
                have: 5
            }))
        );
        assert_eq!(units.next(), None);
        let mut out = Vec::new();
        assert!(avcc_to_annexb(&[0, 0], 4, &mut out).is_err());
    }

    #[test]
    fn bad_length_size_is_rejected() {
        assert!(avcc_nal_units(&[], 0).is_err());
        assert!(avcc_nal_units(&[], 5).is_err());
    }

    #[test]
    fn nal_type_reads_low_bits() {
        assert_eq!(nal_type(&[0x67]), Some(NAL_SPS));
        assert_eq!(nal_type(&[0x65, 1]), Some(NAL_IDR));
        assert_eq!(nal_type(&[]), None);
    }
}
