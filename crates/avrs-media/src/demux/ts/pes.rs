//! PES reassembly: a PES starts in the packet with `payload_unit_start`
//! set and runs until the next one on its PID (or its declared length).

use super::{Packet, malformed};
use crate::codec::cursor::Cursor;
use crate::error::{MediaError, Result};

/// A complete PES: 33-bit times as read, and the elementary stream bytes.
#[derive(Debug, Clone, Default)]
pub(super) struct Pes {
    pub pts: Option<i64>,
    pub dts: Option<i64>,
    pub data: Vec<u8>,
    /// File offset of the packet that started it, for messages.
    pub offset: usize,
}

/// Collects the packets of one PID into PES packets.
#[derive(Debug, Default)]
pub(super) struct PesAssembler {
    current: Option<(usize, Vec<u8>)>,
}

impl PesAssembler {
    /// Adds a packet; returns the PES it completed, if any. Packets before
    /// the first payload start (a stream joined mid-PES) are dropped.
    pub fn push(&mut self, packet: &Packet<'_>, offset: usize) -> Result<Option<Pes>> {
        if packet.payload_start {
            let done = self.flush()?;
            self.current = Some((offset, packet.payload.to_vec()));
            return Ok(done);
        }
        if let Some((_, bytes)) = &mut self.current {
            bytes.extend_from_slice(packet.payload);
        }
        Ok(None)
    }

    /// Completes the PES in progress, if any.
    pub fn flush(&mut self) -> Result<Option<Pes>> {
        match self.current.take() {
            Some((offset, bytes)) => parse_pes(&bytes, offset).map(Some),
            None => Ok(None),
        }
    }
}

fn parse_pes(bytes: &[u8], offset: usize) -> Result<Pes> {
    let mut c = Cursor::new(bytes, "PES header");
    if c.array::<3>()? != [0, 0, 1] {
        return Err(malformed(format!("no PES start code at offset {offset}")));
    }
    c.u8()?; // stream_id
    let declared = usize::from(c.u16()?);
    let flags = c.u16()?;
    if flags & 0xC000 != 0x8000 {
        return Err(malformed(format!(
            "PES at offset {offset} has no optional header"
        )));
    }
    let header_len = usize::from(c.u8()?);
    let mut header = Cursor::new(c.take(header_len)?, "PES header");
    let (pts, dts) = match flags & 0x00C0 {
        0x0080 => (Some(read_time(&mut header)?), None),
        0x00C0 => (Some(read_time(&mut header)?), Some(read_time(&mut header)?)),
        _ => (None, None),
    };
    let mut data = c.rest();
    if declared != 0 {
        // The length counts the bytes after itself: 3 of header flags.
        let payload_len = declared.saturating_sub(3 + header_len);
        data = data.get(..payload_len).ok_or(MediaError::Truncated {
            what: "PES packet",
            need: payload_len,
            have: data.len(),
        })?;
    }
    Ok(Pes {
        pts,
        dts,
        data: data.to_vec(),
        offset,
    })
}

/// A 33-bit time in 5 bytes with marker bits.
fn read_time(c: &mut Cursor<'_>) -> Result<i64> {
    let b = c.array::<5>()?;
    let high = i64::from((b[0] >> 1) & 0x07);
    let mid = i64::from(u16::from_be_bytes([b[1], b[2]]) >> 1);
    let low = i64::from(u16::from_be_bytes([b[3], b[4]]) >> 1);
    Ok((high << 30) | (mid << 15) | low)
}
