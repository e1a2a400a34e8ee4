//! MPEG-TS import: 188-byte packets, PAT → PMT, one H.264 (stream type
//! 0x1B) and one AAC ADTS (0x0F) stream, PES reassembly with 33-bit PTS/DTS
//! unwrapped across wraps.
//!
//! Only the first program is read; PSI sections must fit in one packet (as
//! every muxer writes PAT/PMT). Data streams (private data, metadata,
//! SCTE-35 …) are skipped; any other audio or video stream type is refused.

mod pes;
mod psi;
mod streams;

use self::pes::PesAssembler;
use self::psi::{StreamKind, parse_pat, parse_pmt};
use self::streams::Elementary;
use super::Demuxed;
use crate::error::{MediaError, Result};

const PACKET_LEN: usize = 188;
const SYNC_BYTE: u8 = 0x47;
const PAT_PID: u16 = 0;
const NULL_PID: u16 = 0x1FFF;

/// One packet's header fields and payload.
struct Packet<'a> {
    pid: u16,
    payload_start: bool,
    payload: &'a [u8],
}

pub(super) fn demux(data: &[u8]) -> Result<Demuxed> {
    if !data.len().is_multiple_of(PACKET_LEN) {
        let offset = data.len() - data.len() % PACKET_LEN;
        return Err(MediaError::Truncated {
            what: "MPEG-TS packet",
            need: offset + PACKET_LEN,
            have: data.len(),
        });
    }
    let mut state = State::default();
    for (index, bytes) in data.chunks_exact(PACKET_LEN).enumerate() {
        let offset = index * PACKET_LEN;
        let packet = parse_packet(bytes, offset)?;
        state.handle(&packet, offset)?;
    }
    state.finish()
}

#[derive(Default)]
struct State {
    pmt_pid: Option<u16>,
    /// PIDs of the stored streams, known once the PMT is read.
    video_pid: Option<u16>,
    audio_pid: Option<u16>,
    video: PesAssembler,
    audio: PesAssembler,
    out: Elementary,
}

impl State {
    fn handle(&mut self, packet: &Packet<'_>, offset: usize) -> Result<()> {
        let pid = Some(packet.pid);
        let pmt_pending = self.video_pid.is_none() && self.audio_pid.is_none();
        if packet.pid == NULL_PID
            || !packet.payload_start && pid != self.video_pid && pid != self.audio_pid
        {
            return Ok(());
        }
        if packet.pid == PAT_PID && self.pmt_pid.is_none() {
            self.pmt_pid = parse_pat(packet.payload, offset)?;
        } else if pid == self.pmt_pid && pmt_pending {
            self.read_pmt(packet.payload, offset)?;
        } else if pid == self.video_pid {
            let pes = self.video.push(packet, offset)?;
            pes.map_or(Ok(()), |pes| self.out.video_pes(&pes))?;
        } else if pid == self.audio_pid {
            let pes = self.audio.push(packet, offset)?;
            pes.map_or(Ok(()), |pes| self.out.audio_pes(&pes))?;
        }
        Ok(())
    }

    fn read_pmt(&mut self, payload: &[u8], offset: usize) -> Result<()> {
        for stream in parse_pmt(payload, offset)? {
            match stream.kind {
                StreamKind::Video if self.video_pid.is_none() => self.video_pid = Some(stream.pid),
                StreamKind::Audio if self.audio_pid.is_none() => self.audio_pid = Some(stream.pid),
                _ => {}
            }
        }
        if self.video_pid.is_none() && self.audio_pid.is_none() {
            return Err(malformed("the PMT lists no H.264 or AAC stream".into()));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Demuxed> {
        if self.pmt_pid.is_none() {
            return Err(malformed("no PAT".into()));
        }
        if let Some(pes) = self.video.flush()? {
            self.out.video_pes(&pes)?;
        }
        if let Some(pes) = self.audio.flush()? {
            self.out.audio_pes(&pes)?;
        }
        self.out.finish()
    }
}

fn parse_packet(bytes: &[u8], offset: usize) -> Result<Packet<'_>> {
    let (header, rest) = bytes.split_at_checked(4).ok_or_else(|| lost_sync(offset))?;
    let &[sync, b1, b2, b3] = header else {
        return Err(lost_sync(offset));
    };
    if sync != SYNC_BYTE {
        return Err(lost_sync(offset));
    }
    if b1 & 0x80 != 0 {
        return Err(malformed(format!(
            "packet at offset {offset} has its transport error indicator set"
        )));
    }
    let pid = (u16::from(b1 & 0x1F) << 8) | u16::from(b2);
    let payload = match (b3 >> 4) & 0x03 {
        0b01 => rest,
        0b11 => skip_adaptation_field(rest, offset)?,
        // Adaptation field only, or the reserved value: no payload.
        _ => &[],
    };
    Ok(Packet {
        pid,
        payload_start: b1 & 0x40 != 0,
        payload,
    })
}

/// The payload after an adaptation field (PCR, flags, stuffing: not needed).
fn skip_adaptation_field(rest: &[u8], offset: usize) -> Result<&[u8]> {
    let length = usize::from(rest.first().copied().unwrap_or(0));
    rest.get(1 + length..).ok_or_else(|| {
        malformed(format!(
            "adaptation field of {length} bytes overruns the packet at offset {offset}"
        ))
    })
}

#[cfg(test)]
mod tests;

fn lost_sync(offset: usize) -> MediaError {
    malformed(format!("lost sync: no 0x47 sync byte at offset {offset}"))
}

pub(super) fn malformed(reason: String) -> MediaError {
    MediaError::Malformed {
        what: "MPEG-TS file",
        reason,
    }
}
