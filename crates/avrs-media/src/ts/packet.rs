//! 188-byte transport stream packets: header, adaptation field (PCR, random
//! access, stuffing) and payload.

/// Bytes of every transport stream packet.
pub const TS_PACKET_LEN: usize = 188;
/// First byte of every packet.
pub const SYNC_BYTE: u8 = 0x47;
/// Bytes after the 4-byte packet header.
const BODY_LEN: usize = TS_PACKET_LEN - 4;
/// Bytes of an encoded PCR.
const PCR_LEN: usize = 6;
/// PCR and PTS/DTS wrap at 2^33 ticks of 90 kHz.
pub const TIMESTAMP_MODULUS: i64 = 1 << 33;

const FLAG_RANDOM_ACCESS: u8 = 0x40;
const FLAG_PCR: u8 = 0x10;

/// What the adaptation field of a PES's first packet carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Adaptation {
    /// Program clock reference, 90 kHz (the 27 MHz extension is 0).
    pub pcr: Option<i64>,
    /// Set on packets that start a keyframe: a decoder may start here.
    pub random_access: bool,
}

impl Adaptation {
    /// Bytes of the adaptation field before stuffing, length byte included.
    fn len(&self) -> usize {
        if self.pcr.is_none() && !self.random_access {
            return 0;
        }
        2 + if self.pcr.is_some() { PCR_LEN } else { 0 }
    }
}

/// Splits a PES packet into TS packets on `pid`: the first has
/// `payload_unit_start_indicator` and `first`'s adaptation field, the last
/// is filled with adaptation-field stuffing. `payload` must not be empty
/// (a PES header always precedes the data). Continuity counter `cc` is
/// advanced once per packet.
pub(crate) fn write_pes_packets(
    out: &mut Vec<u8>,
    pid: u16,
    cc: &mut u8,
    first: Adaptation,
    payload: &[u8],
) {
    debug_assert!(!payload.is_empty());
    out.reserve((payload.len() / BODY_LEN + 2) * TS_PACKET_LEN);
    let mut rest = payload;
    let mut adaptation = first;
    let mut unit_start = true;
    while !rest.is_empty() {
        let room = BODY_LEN - adaptation.len();
        let chunk = room.min(rest.len());
        let stuffing = room - chunk;
        write_header(out, pid, unit_start, *cc, adaptation.len() + stuffing > 0);
        write_adaptation(out, adaptation, adaptation.len() + stuffing);
        out.extend_from_slice(&rest[..chunk]);
        rest = &rest[chunk..];
        *cc = (*cc + 1) & 0x0F;
        adaptation = Adaptation::default();
        unit_start = false;
    }
}

/// Writes one packet holding a PSI section: pointer field 0, the section,
/// then 0xFF stuffing in the payload (as PSI requires). `section` must fit
/// one packet (183 bytes), which every section of this muxer does.
pub(crate) fn write_psi_packet(out: &mut Vec<u8>, pid: u16, cc: &mut u8, section: &[u8]) {
    debug_assert!(section.len() < BODY_LEN);
    write_header(out, pid, true, *cc, false);
    out.push(0);
    out.extend_from_slice(section);
    out.resize(out.len() + BODY_LEN - 1 - section.len(), 0xFF);
    *cc = (*cc + 1) & 0x0F;
}

fn write_header(out: &mut Vec<u8>, pid: u16, unit_start: bool, cc: u8, adaptation: bool) {
    // adaptation_field_control: 01 payload only, 11 adaptation + payload.
    let control = if adaptation { 0x30 } else { 0x10 };
    out.extend_from_slice(&[
        SYNC_BYTE,
        (u8::from(unit_start) << 6) | ((pid >> 8) as u8 & 0x1F),
        pid as u8,
        control | (cc & 0x0F),
    ]);
}

/// Writes an adaptation field of `total` bytes (length byte included).
/// One byte is a bare length of 0; more hold flags, the PCR, then 0xFF.
fn write_adaptation(out: &mut Vec<u8>, adaptation: Adaptation, total: usize) {
    if total == 0 {
        return;
    }
    out.push((total - 1) as u8);
    if total == 1 {
        return;
    }
    let mut flags = 0;
    if adaptation.random_access {
        flags |= FLAG_RANDOM_ACCESS;
    }
    if adaptation.pcr.is_some() {
        flags |= FLAG_PCR;
    }
    out.push(flags);
    if let Some(pcr) = adaptation.pcr {
        out.extend_from_slice(&encode_pcr(pcr));
    }
    let written = 2 + if adaptation.pcr.is_some() { PCR_LEN } else { 0 };
    out.resize(out.len() + total - written, 0xFF);
}

/// PCR: 33-bit base (90 kHz), 6 reserved bits, 9-bit extension (0).
pub(crate) fn encode_pcr(pcr: i64) -> [u8; PCR_LEN] {
    let base = pcr.rem_euclid(TIMESTAMP_MODULUS) as u64;
    [
        (base >> 25) as u8,
        (base >> 17) as u8,
        (base >> 9) as u8,
        (base >> 1) as u8,
        ((base & 1) << 7) as u8 | 0x7E,
        0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcr_layout() {
        assert_eq!(encode_pcr(0), [0, 0, 0, 0, 0x7E, 0]);
        assert_eq!(encode_pcr(1), [0, 0, 0, 0, 0xFE, 0]);
        assert_eq!(encode_pcr(90_000), [0x00, 0x00, 0xAF, 0xC8, 0x7E, 0x00]);
        // 2^33 - 1 is the largest base; -1 wraps to it.
        assert_eq!(encode_pcr(-1), [0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0x00]);
    }

    #[test]
    fn short_payload_is_stuffed_in_the_adaptation_field() {
        let mut out = Vec::new();
        let mut cc = 15;
        write_pes_packets(&mut out, 0x101, &mut cc, Adaptation::default(), &[0xAB; 10]);
        assert_eq!(out.len(), TS_PACKET_LEN);
        assert_eq!(&out[..6], &[0x47, 0x41, 0x01, 0x3F, 173, 0x00]);
        assert!(out[6..178].iter().all(|&b| b == 0xFF));
        assert_eq!(&out[178..], &[0xAB; 10]);
        assert_eq!(cc, 0, "the counter wraps after 15");
    }

    #[test]
    fn one_byte_of_stuffing_is_a_bare_length() {
        let mut out = Vec::new();
        let mut cc = 0;
        write_pes_packets(&mut out, 0x100, &mut cc, Adaptation::default(), &[1; 183]);
        assert_eq!(&out[..5], &[0x47, 0x41, 0x00, 0x30, 0x00]);
        assert_eq!(out.len(), TS_PACKET_LEN);
    }

    #[test]
    fn first_packet_carries_pcr_and_random_access() {
        let mut out = Vec::new();
        let mut cc = 3;
        let first = Adaptation {
            pcr: Some(0),
            random_access: true,
        };
        write_pes_packets(&mut out, 0x100, &mut cc, first, &[7; 400]);
        assert_eq!(out.len(), 3 * TS_PACKET_LEN);
        assert_eq!(
            &out[..12],
            &[0x47, 0x41, 0x00, 0x33, 7, 0x50, 0, 0, 0, 0, 0x7E, 0]
        );
        // Second packet: no start indicator, payload only, counter 4.
        assert_eq!(&out[188..192], &[0x47, 0x01, 0x00, 0x14]);
        // 400 = 176 + 184 + 40: the third packet stuffs 144 bytes.
        assert_eq!(&out[376..382], &[0x47, 0x01, 0x00, 0x35, 143, 0x00]);
        assert_eq!(cc, 6);
        assert!(out.chunks(TS_PACKET_LEN).all(|p| p[0] == SYNC_BYTE));
    }

    #[test]
    fn psi_is_stuffed_in_the_payload() {
        let mut out = Vec::new();
        let mut cc = 0;
        write_psi_packet(&mut out, 0, &mut cc, &[0x00, 0xB0]);
        assert_eq!(&out[..7], &[0x47, 0x40, 0x00, 0x10, 0x00, 0x00, 0xB0]);
        assert!(out[7..].iter().all(|&b| b == 0xFF));
        assert_eq!(out.len(), TS_PACKET_LEN);
        assert_eq!(cc, 1);
    }
}
