//! The clock stamp: an H.264 SEI NAL unit that `avrs publish --synthetic`
//! puts in front of every video frame and `avrs bench` reads back, so a
//! viewer can tell how old each frame is and whether one went missing.
//!
//! The NAL unit (before emulation prevention) is 31 bytes:
//!
//! ```text
//! 06                     nal_unit_type 6 (SEI), nal_ref_idc 0
//! 05                     payloadType 5: user_data_unregistered
//! 1C                     payloadSize 28
//! 6C4C215E-8370-4977-A060-A430FEC556AA   uuid_iso_iec_11578 (16 bytes)
//! TT TT TT TT TT TT TT TT   send time, Unix microseconds, u64 big-endian
//! SS SS SS SS               frame counter, u32 big-endian, +1 per frame
//! 80                     rbsp_trailing_bits
//! ```
//!
//! The UUID was drawn at random once; it has no zero byte, so emulation
//! prevention never touches it and a reader can match it in place. Decoders
//! ignore user data they do not know, so stamped streams play anywhere.

use avrs_media::codec::nal::{NAL_AUD, NAL_SEI, avcc_nal_units, nal_type};
use std::time::{SystemTime, UNIX_EPOCH};

/// Identifies an avrs clock stamp among `user_data_unregistered` messages.
pub const STAMP_UUID: [u8; 16] = [
    0x6C, 0x4C, 0x21, 0x5E, 0x83, 0x70, 0x49, 0x77, 0xA0, 0x60, 0xA4, 0x30, 0xFE, 0xC5, 0x56, 0xAA,
];
/// `payloadType` of `user_data_unregistered`.
const USER_DATA_UNREGISTERED: u8 = 5;
/// UUID, time and counter.
const PAYLOAD_LEN: usize = 16 + 8 + 4;
/// SEI NAL units larger than this are not ours; they are skipped unread
/// (x264 writes its settings as a ~600-byte SEI in the first frame).
const MAX_SCANNED_SEI: usize = 256;

/// What a stamp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockStamp {
    /// Wall-clock time the frame was sent, Unix microseconds.
    pub unix_micros: u64,
    /// Counts video frames from 0 across the whole publish.
    pub sequence: u32,
}

/// Wall-clock now, Unix microseconds (0 before 1970): the stamp's clock.
pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The stamp's SEI NAL unit (no length prefix), emulation prevention applied.
pub fn stamp_nal(stamp: ClockStamp) -> Vec<u8> {
    let mut rbsp = [0u8; 3 + PAYLOAD_LEN + 1];
    rbsp[0] = NAL_SEI;
    rbsp[1] = USER_DATA_UNREGISTERED;
    rbsp[2] = PAYLOAD_LEN as u8;
    rbsp[3..19].copy_from_slice(&STAMP_UUID);
    rbsp[19..27].copy_from_slice(&stamp.unix_micros.to_be_bytes());
    rbsp[27..31].copy_from_slice(&stamp.sequence.to_be_bytes());
    rbsp[31] = 0x80;
    let mut nal = Vec::with_capacity(rbsp.len() + 4);
    add_emulation_prevention(&rbsp, &mut nal);
    nal
}

/// Writes `avcc` (a frame's NAL units, `length_size`-byte lengths) to `out`
/// with the stamp inserted before its first NAL unit, or after a leading
/// access unit delimiter, which must stay first.
pub fn write_stamped(stamp: ClockStamp, avcc: &[u8], length_size: u8, out: &mut Vec<u8>) {
    let sei = stamp_nal(stamp);
    let first = avcc_nal_units(avcc, length_size)
        .ok()
        .and_then(|mut units| units.next())
        .and_then(Result::ok);
    let split = match first {
        Some(unit) if nal_type(unit) == Some(NAL_AUD) => usize::from(length_size) + unit.len(),
        _ => 0,
    };
    out.reserve(avcc.len() + sei.len() + 4);
    out.extend_from_slice(&avcc[..split]);
    let len = sei.len().to_be_bytes();
    out.extend_from_slice(&len[len.len() - usize::from(length_size)..]);
    out.extend_from_slice(&sei);
    out.extend_from_slice(&avcc[split..]);
}

/// Finds a stamp among the NAL units that precede a frame's first slice.
/// Returns `None` for unstamped or malformed frames: a bench counts those,
/// it does not fail on them.
pub fn find_stamp(avcc: &[u8], length_size: u8) -> Option<ClockStamp> {
    for unit in avcc_nal_units(avcc, length_size).ok()? {
        let unit = unit.ok()?;
        match nal_type(unit)? {
            NAL_SEI if unit.len() <= MAX_SCANNED_SEI => {
                let mut rbsp = [0u8; MAX_SCANNED_SEI];
                let len = remove_emulation_prevention(&unit[1..], &mut rbsp);
                if let Some(stamp) = stamp_in_sei(&rbsp[..len]) {
                    return Some(stamp);
                }
            }
            // Slices: SEI after the first slice is not allowed, stop looking.
            1..=5 => return None,
            _ => {}
        }
    }
    None
}

/// Walks the SEI messages of an SEI RBSP (after the NAL header).
fn stamp_in_sei(mut rbsp: &[u8]) -> Option<ClockStamp> {
    // more_rbsp_data(): stop at the trailing-bits byte.
    while rbsp.len() > 1 {
        let (payload_type, rest) = read_sei_number(rbsp)?;
        let (payload_size, rest) = read_sei_number(rest)?;
        let payload = rest.get(..payload_size)?;
        rbsp = &rest[payload_size..];
        if payload_type == usize::from(USER_DATA_UNREGISTERED)
            && payload_size == PAYLOAD_LEN
            && payload[..16] == STAMP_UUID
        {
            let unix_micros = u64::from_be_bytes(payload[16..24].try_into().ok()?);
            let sequence = u32::from_be_bytes(payload[24..28].try_into().ok()?);
            return Some(ClockStamp {
                unix_micros,
                sequence,
            });
        }
    }
    None
}

/// An SEI payload type or size: 0xFF bytes each add 255, then a final byte.
fn read_sei_number(data: &[u8]) -> Option<(usize, &[u8])> {
    let mut value = 0usize;
    for (i, &byte) in data.iter().enumerate() {
        value += usize::from(byte);
        if byte != 0xFF {
            return Some((value, &data[i + 1..]));
        }
    }
    None
}

/// RBSP to NAL payload: after two zero bytes, a byte of 0 to 3 gets an
/// emulation prevention byte (0x03) in front, so no start code can appear.
fn add_emulation_prevention(rbsp: &[u8], out: &mut Vec<u8>) {
    let mut zeros = 0;
    for &byte in rbsp {
        if zeros == 2 && byte <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(byte);
        zeros = if byte == 0 { zeros + 1 } else { 0 };
    }
}

/// NAL payload to RBSP in `out` (at least as long as `data`): drops each
/// 0x03 that follows two zero bytes. Returns the RBSP length.
fn remove_emulation_prevention(data: &[u8], out: &mut [u8]) -> usize {
    let mut len = 0;
    let mut zeros = 0;
    for &byte in data {
        if zeros == 2 && byte == 3 {
            zeros = 0;
            continue;
        }
        out[len] = byte;
        len += 1;
        zeros = if byte == 0 { zeros + 1 } else { 0 };
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID_HEX: &str = "6c4c215e83704977a060a430fec556aa";

    /// 1.7e15 µs ends in a zero byte and counter 1 starts with three, so
    /// the four zeros in a row need two emulation prevention bytes.
    #[test]
    fn stamp_nal_literal_bytes() {
        let nal = stamp_nal(ClockStamp {
            unix_micros: 1_700_000_000_000_000,
            sequence: 1,
        });
        let expected = format!("06051c{UUID_HEX}00060a24181e4000" /* time */)
            + "000300000301" // counter 00000001 with 03s inserted
            + "80";
        assert_eq!(hex::encode(&nal), expected);
        assert_eq!(find_stamp(&avcc(&[&nal]), 4).unwrap().sequence, 1);
    }

    #[test]
    fn stamp_without_zero_runs_is_unescaped() {
        let stamp = ClockStamp {
            unix_micros: 0x0102_0304_0506_0708,
            sequence: 0x1122_3344,
        };
        let nal = stamp_nal(stamp);
        let expected = format!("06051c{UUID_HEX}01020304050607081122334480");
        assert_eq!(hex::encode(&nal), expected);
    }

    fn avcc(units: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for unit in units {
            out.extend_from_slice(&(unit.len() as u32).to_be_bytes());
            out.extend_from_slice(unit);
        }
        out
    }

    #[test]
    fn stamp_goes_first_or_after_an_access_unit_delimiter() {
        let stamp = ClockStamp {
            unix_micros: 42,
            sequence: 0,
        };
        let sei = stamp_nal(stamp);
        let slice: &[u8] = &[0x65, 0x88, 0x84];
        let mut out = Vec::new();
        write_stamped(stamp, &avcc(&[slice]), 4, &mut out);
        assert_eq!(out, avcc(&[&sei, slice]));
        assert_eq!(find_stamp(&out, 4), Some(stamp));

        let aud: &[u8] = &[0x09, 0xF0];
        let mut out = Vec::new();
        write_stamped(stamp, &avcc(&[aud, slice]), 4, &mut out);
        assert_eq!(out, avcc(&[aud, &sei, slice]));
        assert_eq!(find_stamp(&out, 4), Some(stamp));
    }

    #[test]
    fn two_byte_lengths() {
        let stamp = ClockStamp {
            unix_micros: 7,
            sequence: 9,
        };
        let mut out = Vec::new();
        write_stamped(stamp, &[0, 2, 0x41, 0x9A], 2, &mut out);
        let sei = stamp_nal(stamp);
        assert_eq!(&out[..2], &(sei.len() as u16).to_be_bytes());
        assert_eq!(&out[out.len() - 4..], &[0, 2, 0x41, 0x9A]);
        assert_eq!(find_stamp(&out, 2), Some(stamp));
    }

    #[test]
    fn other_sei_messages_and_late_sei_are_not_stamps() {
        // A user_data_unregistered message with another UUID, then ours in
        // the same NAL unit: found.
        let mut nal = vec![0x06, 0x05, 17];
        nal.extend_from_slice(&[0x11; 16]);
        nal.push(0x22);
        nal.extend_from_slice(
            &stamp_nal(ClockStamp {
                unix_micros: 5,
                sequence: 6,
            })[1..],
        );
        let found = find_stamp(&avcc(&[&nal]), 4).unwrap();
        assert_eq!((found.unix_micros, found.sequence), (5, 6));

        // A stamp after the first slice does not count.
        let late = stamp_nal(ClockStamp {
            unix_micros: 1,
            sequence: 1,
        });
        assert_eq!(find_stamp(&avcc(&[&[0x41, 0x9A], &late]), 4), None);
        // Truncated data and unstamped frames give nothing.
        assert_eq!(find_stamp(&[0, 0, 0, 9, 0x06], 4), None);
        assert_eq!(find_stamp(&avcc(&[&[0x06, 0x05, 0x02, 0xAA]]), 4), None);
    }

    #[test]
    fn sei_numbers_use_ff_extension() {
        assert_eq!(read_sei_number(&[0xFF, 0xFF, 3, 9]), Some((513, &[9][..])));
        assert_eq!(read_sei_number(&[0xFF]), None);
    }
}
