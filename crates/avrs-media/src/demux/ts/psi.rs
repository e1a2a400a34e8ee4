//! Program-specific information: the PAT (program → PMT PID) and the PMT
//! (elementary streams and their stream types).

use super::malformed;
use crate::codec::cursor::Cursor;
use crate::demux::assemble::unsupported_codec;
use crate::error::Result;

/// What a PMT entry carries, for import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StreamKind {
    Video,
    Audio,
    /// Private data, metadata, cues …: skipped.
    Data,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct EsStream {
    pub pid: u16,
    pub kind: StreamKind,
}

const PAT_TABLE_ID: u8 = 0x00;
const PMT_TABLE_ID: u8 = 0x02;

/// The PMT PID of the first program of a PAT.
pub(super) fn parse_pat(payload: &[u8], offset: usize) -> Result<Option<u16>> {
    let mut body = section(payload, PAT_TABLE_ID, offset)?;
    body.take(5)?; // transport_stream_id, version, section numbers
    while body.remaining() >= 4 {
        let program = body.u16()?;
        let pid = body.u16()? & 0x1FFF;
        if program != 0 {
            return Ok(Some(pid)); // program 0 points at the NIT
        }
    }
    Ok(None)
}

/// The elementary streams of a PMT; refuses audio or video we do not store.
pub(super) fn parse_pmt(payload: &[u8], offset: usize) -> Result<Vec<EsStream>> {
    let mut body = section(payload, PMT_TABLE_ID, offset)?;
    body.take(7)?; // program_number, version, section numbers, PCR_PID
    let info_len = usize::from(body.u16()? & 0x0FFF);
    body.take(info_len)?;
    let mut streams = Vec::new();
    while body.remaining() >= 5 {
        let stream_type = body.u8()?;
        let pid = body.u16()? & 0x1FFF;
        let es_info_len = usize::from(body.u16()? & 0x0FFF);
        body.take(es_info_len)?;
        let kind = classify(stream_type, pid)?;
        streams.push(EsStream { pid, kind });
    }
    Ok(streams)
}

/// The section that starts in this payload (after its pointer field),
/// without its header and CRC.
fn section(payload: &[u8], table_id: u8, offset: usize) -> Result<Cursor<'_>> {
    let mut c = Cursor::new(payload, "MPEG-TS PSI section");
    let pointer = usize::from(c.u8()?);
    c.take(pointer)?;
    let found = c.u8()?;
    if found != table_id {
        return Err(malformed(format!(
            "table id 0x{found:02X} where 0x{table_id:02X} was expected at offset {offset}"
        )));
    }
    let length = usize::from(c.u16()? & 0x0FFF);
    if length > c.remaining() {
        return Err(malformed(format!(
            "PSI section at offset {offset} spans packets ({length} bytes), which is not supported"
        )));
    }
    let body = c.take(length)?;
    let without_crc = body.get(..length.saturating_sub(4)).unwrap_or_default();
    Ok(Cursor::new(without_crc, "MPEG-TS PSI section"))
}

/// H.264 and AAC ADTS are stored; other audio/video is refused by name;
/// everything else is data and skipped.
fn classify(stream_type: u8, pid: u16) -> Result<StreamKind> {
    let (name, kind) = match stream_type {
        0x1B => return Ok(StreamKind::Video),
        0x0F => return Ok(StreamKind::Audio),
        0x01 => ("MPEG-1", "video"),
        0x02 => ("MPEG-2", "video"),
        0x10 => ("MPEG-4 Part 2", "video"),
        0x1F | 0x20 => ("H.264 SVC/MVC", "video"),
        0x24 => ("HEVC", "video"),
        0x33 => ("VVC", "video"),
        0x42 => ("AVS", "video"),
        0xD1 => ("Dirac", "video"),
        0xEA => ("VC-1", "video"),
        0x03 => ("MPEG-1 Layer I/II/III (MP2/MP3)", "audio"),
        0x04 => ("MPEG-2 Layer I/II/III (MP2/MP3)", "audio"),
        0x11 => ("AAC LATM", "audio"),
        0x1C => ("MPEG-4 raw", "audio"),
        0x80 => ("LPCM", "audio"),
        0x81 => ("AC-3", "audio"),
        0x82 | 0x85 => ("DTS", "audio"),
        0x83 => ("TrueHD", "audio"),
        0x84 | 0x87 => ("E-AC-3", "audio"),
        _ => return Ok(StreamKind::Data),
    };
    let code = format!("stream type 0x{stream_type:02X}, PID {pid}");
    Err(unsupported_codec(name, kind, &code))
}
