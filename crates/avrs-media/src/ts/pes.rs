//! PES packet headers with 33-bit PTS/DTS.

use crate::ts::packet::TIMESTAMP_MODULUS;

/// `stream_id` of the first video stream.
pub const STREAM_ID_VIDEO: u8 = 0xE0;
/// `stream_id` of the first audio stream.
pub const STREAM_ID_AUDIO: u8 = 0xC0;

/// '10' marker bits and `data_alignment_indicator`: every PES of this muxer
/// starts with an access unit (an AUD, or an ADTS syncword).
const FLAGS_ALIGNED: u8 = 0x84;
const HAS_PTS: u8 = 0x80;
const HAS_PTS_DTS: u8 = 0xC0;
/// Four-bit prefixes of the timestamp fields.
const PREFIX_PTS_ONLY: u8 = 0x2;
const PREFIX_PTS_WITH_DTS: u8 = 0x3;
const PREFIX_DTS: u8 = 0x1;

/// Longest header this muxer writes: 9 fixed bytes, PTS and DTS.
pub(crate) const MAX_PES_HEADER_LEN: usize = 19;

/// A PES header, built on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PesHeader {
    bytes: [u8; MAX_PES_HEADER_LEN],
    len: usize,
}

impl PesHeader {
    /// The header of a PES carrying `payload_len` bytes of elementary stream
    /// data. DTS is written only when given and different from PTS. A packet
    /// too long for the 16-bit `PES_packet_length` gets 0 ("unbounded"),
    /// which MPEG-TS allows for video.
    pub(crate) fn new(stream_id: u8, pts: i64, dts: Option<i64>, payload_len: usize) -> Self {
        let dts = dts.filter(|&dts| dts != pts);
        let header_data_len: u8 = if dts.is_some() { 10 } else { 5 };
        let packet_len = 3 + usize::from(header_data_len) + payload_len;
        let [len_hi, len_lo] = u16::try_from(packet_len).unwrap_or(0).to_be_bytes();
        let (pts_dts_flags, pts_prefix) = if dts.is_some() {
            (HAS_PTS_DTS, PREFIX_PTS_WITH_DTS)
        } else {
            (HAS_PTS, PREFIX_PTS_ONLY)
        };
        let mut bytes = [0u8; MAX_PES_HEADER_LEN];
        bytes[..9].copy_from_slice(&[
            0,
            0,
            1,
            stream_id,
            len_hi,
            len_lo,
            FLAGS_ALIGNED,
            pts_dts_flags,
            header_data_len,
        ]);
        bytes[9..14].copy_from_slice(&encode_timestamp(pts_prefix, pts));
        if let Some(dts) = dts {
            bytes[14..19].copy_from_slice(&encode_timestamp(PREFIX_DTS, dts));
        }
        Self {
            bytes,
            len: 9 + usize::from(header_data_len),
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A 33-bit timestamp in five bytes with marker bits; wraps modulo 2^33.
fn encode_timestamp(prefix: u8, ticks: i64) -> [u8; 5] {
    let ts = ticks.rem_euclid(TIMESTAMP_MODULUS) as u64;
    [
        (prefix << 4) | (((ts >> 30) as u8 & 0x07) << 1) | 1,
        (ts >> 22) as u8,
        (((ts >> 15) as u8 & 0x7F) << 1) | 1,
        (ts >> 7) as u8,
        ((ts as u8 & 0x7F) << 1) | 1,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_header_with_pts_and_dts() {
        let header = PesHeader::new(STREAM_ID_VIDEO, 93_003, Some(90_000), 100);
        assert_eq!(
            header.as_bytes(),
            [
                0x00, 0x00, 0x01, 0xE0, 0x00, 0x71, 0x84, 0xC0, 0x0A, // 113 bytes follow
                0x31, 0x00, 0x05, 0xD6, 0x97, // PTS 93003
                0x11, 0x00, 0x05, 0xBF, 0x21, // DTS 90000
            ]
        );
    }

    #[test]
    fn equal_dts_is_omitted() {
        let header = PesHeader::new(STREAM_ID_AUDIO, 90_000, Some(90_000), 7);
        assert_eq!(
            header.as_bytes(),
            [
                0x00, 0x00, 0x01, 0xC0, 0x00, 0x0F, 0x84, 0x80, 0x05, 0x21, 0x00, 0x05, 0xBF, 0x21
            ]
        );
    }

    #[test]
    fn long_video_pes_is_unbounded() {
        let header = PesHeader::new(STREAM_ID_VIDEO, 0, None, 70_000);
        assert_eq!(&header.as_bytes()[4..6], &[0, 0]);
        let header = PesHeader::new(STREAM_ID_VIDEO, 0, None, 65_535 - 8);
        assert_eq!(&header.as_bytes()[4..6], &[0xFF, 0xFF]);
    }

    #[test]
    fn timestamps_wrap_at_33_bits() {
        assert_eq!(encode_timestamp(2, 0), [0x21, 0x00, 0x01, 0x00, 0x01]);
        assert_eq!(
            encode_timestamp(2, TIMESTAMP_MODULUS - 1),
            [0x2F, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(
            encode_timestamp(2, -1),
            encode_timestamp(2, TIMESTAMP_MODULUS - 1)
        );
        assert_eq!(
            encode_timestamp(2, TIMESTAMP_MODULUS),
            encode_timestamp(2, 0)
        );
    }
}
