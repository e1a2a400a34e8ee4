//! Program-specific information: the PAT and PMT sections of a
//! single-program stream.

use crate::ts::crc::crc32_mpeg2;

/// PID of the program association table.
pub const PAT_PID: u16 = 0x0000;
/// PID of the program map table.
pub const PMT_PID: u16 = 0x1000;
/// PID of the H.264 stream.
pub const VIDEO_PID: u16 = 0x0100;
/// PID of the AAC stream.
pub const AUDIO_PID: u16 = 0x0101;
/// `stream_type` of H.264 video.
pub const STREAM_TYPE_H264: u8 = 0x1B;
/// `stream_type` of AAC audio in ADTS.
pub const STREAM_TYPE_AAC_ADTS: u8 = 0x0F;

const TABLE_ID_PAT: u8 = 0x00;
const TABLE_ID_PMT: u8 = 0x02;
const TRANSPORT_STREAM_ID: u16 = 1;
const PROGRAM_NUMBER: u16 = 1;
/// Reserved bits, version 0, current_next_indicator 1.
const VERSION_CURRENT: u8 = 0xC1;

/// The PAT section: program 1 on [`PMT_PID`].
pub fn pat_section() -> Vec<u8> {
    let [pmt_hi, pmt_lo] = (0xE000 | PMT_PID).to_be_bytes();
    let [prog_hi, prog_lo] = PROGRAM_NUMBER.to_be_bytes();
    section(
        TABLE_ID_PAT,
        TRANSPORT_STREAM_ID,
        &[prog_hi, prog_lo, pmt_hi, pmt_lo],
    )
}

/// The PMT section of program 1: `streams` are `(stream_type, pid)` pairs,
/// with no descriptors.
pub fn pmt_section(pcr_pid: u16, streams: &[(u8, u16)]) -> Vec<u8> {
    let mut body = Vec::with_capacity(4 + 5 * streams.len());
    body.extend_from_slice(&(0xE000 | pcr_pid).to_be_bytes());
    // Reserved bits and program_info_length 0.
    body.extend_from_slice(&[0xF0, 0x00]);
    for &(stream_type, pid) in streams {
        body.push(stream_type);
        body.extend_from_slice(&(0xE000 | pid).to_be_bytes());
        body.extend_from_slice(&[0xF0, 0x00]);
    }
    section(TABLE_ID_PMT, PROGRAM_NUMBER, &body)
}

/// A long-form section: header, `body`, CRC. `id` is the
/// transport_stream_id (PAT) or program_number (PMT).
fn section(table_id: u8, id: u16, body: &[u8]) -> Vec<u8> {
    // Bytes after section_length: id, version, two section numbers, body, CRC.
    let section_length = (5 + body.len() + 4) as u16;
    let mut out = Vec::with_capacity(3 + usize::from(section_length));
    out.push(table_id);
    // section_syntax_indicator 1, '0', reserved '11', 12-bit length.
    out.extend_from_slice(&(0xB000 | section_length).to_be_bytes());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[VERSION_CURRENT, 0, 0]);
    out.extend_from_slice(body);
    let crc = crc32_mpeg2(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pat_matches_ffmpeg() {
        // The PAT ffmpeg's mpegts muxer writes by default, CRC included.
        assert_eq!(
            pat_section(),
            [
                0x00, 0xB0, 0x0D, 0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, 0xF0, 0x00, 0x2A, 0xB1,
                0x04, 0xB2
            ]
        );
    }

    #[test]
    fn pmt_with_video_and_audio_matches_ffmpeg() {
        let pmt = pmt_section(
            VIDEO_PID,
            &[
                (STREAM_TYPE_H264, VIDEO_PID),
                (STREAM_TYPE_AAC_ADTS, AUDIO_PID),
            ],
        );
        // As `ffmpeg -c copy -f mpegts` writes it for H.264 + AAC.
        assert_eq!(
            pmt,
            [
                0x02, 0xB0, 0x17, 0x00, 0x01, 0xC1, 0x00, 0x00, 0xE1, 0x00, 0xF0, 0x00, 0x1B, 0xE1,
                0x00, 0xF0, 0x00, 0x0F, 0xE1, 0x01, 0xF0, 0x00, 0x2F, 0x44, 0xB9, 0x9B
            ]
        );
    }
}
