//! The stream encoder: channel packets in, frames out.
//!
//! Frames are appended to a caller-owned [`BytesMut`], which the driver
//! writes to the socket (and may reuse). Time is a parameter, never read.

use bytes::BytesMut;

use super::{
    ALIVE_FRAME, CHANNEL_HEADER_SIZE, ChannelHeader, FRAGMENT_THRESHOLD, KEEPALIVE_FRAME,
    MAX_PACKET_SIZE, MAX_PLAINTEXT, PacketContext, PacketType, PayloadCipher, Plaintext,
    STREAM_HEADER_SIZE, ServiceBody, StreamHeader, split_into_fragments,
};
use crate::error::{ProtoError, Result};

/// The node addresses a writer stamps on its headers (informative only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NodeAddrs {
    /// This node.
    pub src: u64,
    /// The peer.
    pub dst: u64,
}

/// Encodes one direction of a stream.
#[derive(Debug)]
pub struct StreamWriter<C = Plaintext> {
    cipher: C,
    addrs: NodeAddrs,
    /// One counter per stream, shared by all channels, from 0.
    next_seq_id: u64,
    /// Sealed packets written so far: the next [`PacketContext::packet_index`].
    sealed_packets: u64,
}

impl Default for StreamWriter<Plaintext> {
    fn default() -> Self {
        Self::new(Plaintext, NodeAddrs::default())
    }
}

impl<C: PayloadCipher> StreamWriter<C> {
    pub fn new(cipher: C, addrs: NodeAddrs) -> Self {
        Self {
            cipher,
            addrs,
            next_seq_id: 0,
            sealed_packets: 0,
        }
    }

    /// The `seq_id` the next channel packet will get.
    pub fn next_seq_id(&self) -> u64 {
        self.next_seq_id
    }

    /// Appends the frames of one channel packet to `out` and returns its
    /// `seq_id`: one `DATA` packet, or `FRAGMENT` packets when
    /// `16 + data.len()` is over [`FRAGMENT_THRESHOLD`]. Data whose channel
    /// packet would exceed [`MAX_PACKET_SIZE`] is refused. On error nothing
    /// is appended and no counter moves.
    pub fn channel_packet(
        &mut self,
        now_unix_secs: u64,
        id: u8,
        subtype: u8,
        data: &[u8],
        out: &mut BytesMut,
    ) -> Result<u64> {
        let packet_len = CHANNEL_HEADER_SIZE.saturating_add(data.len());
        if packet_len > MAX_PACKET_SIZE {
            return Err(ProtoError::TooLarge {
                what: "channel packet",
                size: packet_len,
                max: MAX_PACKET_SIZE,
            });
        }
        let seq_id = self.next_seq_id;
        let header = ChannelHeader {
            id,
            subtype,
            seq_id,
            data_size: u32::try_from(data.len()).expect("bounded by MAX_PACKET_SIZE"),
        }
        .encode();
        let (start, sealed_before) = (out.len(), self.sealed_packets);
        let written = if packet_len > FRAGMENT_THRESHOLD {
            self.write_fragments(now_unix_secs, &header, data, out)
        } else {
            self.write_sealed(now_unix_secs, PacketType::Data, &[&header, data], out)
        };
        if let Err(e) = written {
            // The discarded sealed bytes never reach the wire, so the packet
            // indices they used may be used again.
            out.truncate(start);
            self.sealed_packets = sealed_before;
            return Err(e);
        }
        self.next_seq_id += 1;
        Ok(seq_id)
    }

    fn write_fragments(
        &mut self,
        now_unix_secs: u64,
        header: &[u8; CHANNEL_HEADER_SIZE],
        data: &[u8],
        out: &mut BytesMut,
    ) -> Result<()> {
        for fragment in split_into_fragments(header, data) {
            let fragment_header = fragment.header.encode();
            let parts: [&[u8]; 2] = [&fragment_header, fragment.piece];
            self.write_sealed(now_unix_secs, PacketType::Fragment, &parts, out)?;
        }
        Ok(())
    }

    /// Appends one header + sealed payload, the header being the AAD.
    fn write_sealed(
        &mut self,
        now_unix_secs: u64,
        packet_type: PacketType,
        parts: &[&[u8]],
        out: &mut BytesMut,
    ) -> Result<()> {
        let plaintext_len: usize = parts.iter().map(|p| p.len()).sum();
        debug_assert!(
            plaintext_len <= MAX_PLAINTEXT,
            "the split keeps packets small"
        );
        let sealed_len = self.cipher.sealed_len(plaintext_len);
        let size = checked_size(sealed_len)?;
        let header = self.header(now_unix_secs, packet_type, size).encode();
        out.reserve(STREAM_HEADER_SIZE + sealed_len);
        out.extend_from_slice(&header);
        let ctx = PacketContext {
            header: &header,
            packet_index: self.sealed_packets,
        };
        let before = out.len();
        self.cipher.seal(&ctx, parts, out)?;
        if out.len() - before != sealed_len {
            return Err(ProtoError::WrongSize {
                what: "sealed payload (cipher broke its sealed_len)",
                expected: sealed_len,
                actual: out.len() - before,
            });
        }
        self.sealed_packets += 1;
        Ok(())
    }

    fn header(&self, now_unix_secs: u64, packet_type: PacketType, size: u32) -> StreamHeader {
        StreamHeader {
            size,
            timestamp: now_unix_secs,
            packet_type,
            src_addr: self.addrs.src,
            dst_addr: self.addrs.dst,
        }
    }

    /// Appends a bare `KEEPALIVE` (every field but sig and type is 0).
    pub fn keepalive(&self, out: &mut BytesMut) {
        out.extend_from_slice(&KEEPALIVE_FRAME);
    }

    /// Appends a bare `ALIVE`, the answer to a keepalive.
    pub fn alive(&self, out: &mut BytesMut) {
        out.extend_from_slice(&ALIVE_FRAME);
    }

    /// Appends a `SERVICE` packet; its body is never sealed.
    pub fn service(&self, now_unix_secs: u64, body: &ServiceBody, out: &mut BytesMut) {
        let body = body.encode();
        let size = u32::try_from(body.len()).expect("9 bytes");
        out.extend_from_slice(
            &self
                .header(now_unix_secs, PacketType::Service, size)
                .encode(),
        );
        out.extend_from_slice(&body);
    }
}

/// The header's `size` for a sealed payload, which the reader must accept.
fn checked_size(sealed_len: usize) -> Result<u32> {
    u32::try_from(sealed_len)
        .ok()
        .filter(|_| sealed_len <= MAX_PACKET_SIZE)
        .ok_or(ProtoError::TooLarge {
            what: "sealed payload",
            size: sealed_len,
            max: MAX_PACKET_SIZE,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dap::{FragmentHeader, SIGNATURE};

    const NOW: u64 = 0x6000_0000;

    fn writer() -> StreamWriter {
        StreamWriter::new(
            Plaintext,
            NodeAddrs {
                src: 0x11,
                dst: 0x22,
            },
        )
    }

    #[test]
    fn data_frame_is_stream_header_then_channel_header_then_data() {
        let mut out = BytesMut::new();
        let seq = writer()
            .channel_packet(NOW, b'A', b'r', b"hi", &mut out)
            .unwrap();
        assert_eq!(seq, 0);
        let mut expected = SIGNATURE.to_vec();
        expected.extend_from_slice(&[18, 0, 0, 0]); // size = 16 + 2
        expected.extend_from_slice(&[0, 0, 0, 0x60, 0, 0, 0, 0]); // timestamp
        expected.push(0x00); // DATA
        expected.extend_from_slice(&[0x11, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0x22, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[b'A', 0, b'r', 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]);
        expected.extend_from_slice(b"hi");
        assert_eq!(&out[..], &expected[..]);
    }

    #[test]
    fn seq_id_is_one_counter_for_all_channels() {
        let mut w = writer();
        let mut out = BytesMut::new();
        assert_eq!(w.channel_packet(NOW, b'A', 0, b"", &mut out).unwrap(), 0);
        assert_eq!(w.channel_packet(NOW, b'G', 0, b"", &mut out).unwrap(), 1);
        assert_eq!(
            w.channel_packet(NOW, b'A', 0, &[0; 20_000], &mut out)
                .unwrap(),
            2
        );
        assert_eq!(w.next_seq_id(), 3);
    }

    /// Splits `out` into (header, payload) frames.
    fn frames(out: &[u8]) -> Vec<(StreamHeader, &[u8])> {
        let mut rest = out;
        let mut frames = Vec::new();
        while !rest.is_empty() {
            let header = StreamHeader::decode(rest).unwrap();
            let end = STREAM_HEADER_SIZE + header.payload_len();
            frames.push((header, &rest[STREAM_HEADER_SIZE..end]));
            rest = &rest[end..];
        }
        frames
    }

    #[test]
    fn fragments_start_exactly_above_16172() {
        let mut w = writer();
        let mut out = BytesMut::new();
        w.channel_packet(NOW, b'A', 0, &vec![0; FRAGMENT_THRESHOLD - 16], &mut out)
            .unwrap();
        let f = frames(&out);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].0.packet_type, PacketType::Data);
        assert_eq!(f[0].0.size, 16172);

        let mut out = BytesMut::new();
        w.channel_packet(NOW, b'A', 0, &vec![0; FRAGMENT_THRESHOLD - 15], &mut out)
            .unwrap();
        let f = frames(&out);
        let types: Vec<_> = f.iter().map(|(h, _)| h.packet_type).collect();
        assert_eq!(types, [PacketType::Fragment, PacketType::Fragment]);
        let sizes: Vec<_> = f.iter().map(|(h, _)| h.size).collect();
        assert_eq!(sizes, [12 + 16, 12 + 16157]);
        let first = FragmentHeader::decode(f[0].1).unwrap();
        assert_eq!(
            first,
            FragmentHeader {
                size: 16,
                mem_shift: 0,
                full_size: 16173
            }
        );
    }

    #[test]
    fn every_sealed_plaintext_stays_within_16384() {
        let mut out = BytesMut::new();
        writer()
            .channel_packet(NOW, b'A', 0, &vec![7; 100_000], &mut out)
            .unwrap();
        for (header, payload) in frames(&out) {
            assert_eq!(header.packet_type, PacketType::Fragment);
            assert!(payload.len() <= MAX_PLAINTEXT);
        }
    }

    #[test]
    fn channel_packet_over_4_mib_is_refused_and_nothing_moves() {
        let mut w = writer();
        let mut out = BytesMut::from(&b"kept"[..]);
        let too_big = vec![0; MAX_PACKET_SIZE - 15];
        assert_eq!(
            w.channel_packet(NOW, b'A', 0, &too_big, &mut out),
            Err(ProtoError::TooLarge {
                what: "channel packet",
                size: MAX_PACKET_SIZE + 1,
                max: MAX_PACKET_SIZE
            })
        );
        assert_eq!(&out[..], b"kept");
        assert_eq!(w.next_seq_id(), 0);
        let largest = vec![0; MAX_PACKET_SIZE - 16];
        assert_eq!(w.channel_packet(NOW, b'A', 0, &largest, &mut out), Ok(0));
    }

    /// Seals the first packet, then fails.
    struct FailsSecond(u32);

    impl PayloadCipher for FailsSecond {
        fn sealed_len(&self, n: usize) -> usize {
            n
        }
        fn seal(
            &mut self,
            _: &PacketContext<'_>,
            parts: &[&[u8]],
            out: &mut BytesMut,
        ) -> Result<()> {
            self.0 += 1;
            if self.0 > 1 {
                return Err(ProtoError::Malformed {
                    what: "sealed payload",
                    reason: "nonce space exhausted",
                });
            }
            parts.iter().for_each(|p| out.extend_from_slice(p));
            Ok(())
        }
        fn open(&mut self, _: &PacketContext<'_>, _: &mut BytesMut) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_seal_mid_fragments_rolls_the_frames_back() {
        let mut w = StreamWriter::new(FailsSecond(0), NodeAddrs::default());
        let mut out = BytesMut::new();
        assert!(
            w.channel_packet(NOW, b'A', 0, &[0; 20_000], &mut out)
                .is_err()
        );
        assert!(out.is_empty());
        assert_eq!(w.next_seq_id(), 0);
        assert_eq!(w.sealed_packets, 0);
    }

    /// Announces one length, writes another.
    struct Liar;

    impl PayloadCipher for Liar {
        fn sealed_len(&self, n: usize) -> usize {
            n + 1
        }
        fn seal(
            &mut self,
            _: &PacketContext<'_>,
            parts: &[&[u8]],
            out: &mut BytesMut,
        ) -> Result<()> {
            parts.iter().for_each(|p| out.extend_from_slice(p));
            Ok(())
        }
        fn open(&mut self, _: &PacketContext<'_>, _: &mut BytesMut) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_cipher_breaking_its_sealed_len_is_caught() {
        let mut w = StreamWriter::new(Liar, NodeAddrs::default());
        let mut out = BytesMut::new();
        assert_eq!(
            w.channel_packet(NOW, b'A', 0, b"x", &mut out),
            Err(ProtoError::WrongSize {
                what: "sealed payload (cipher broke its sealed_len)",
                expected: 18,
                actual: 17
            })
        );
        assert!(out.is_empty());
    }

    #[test]
    fn sealed_size_over_the_cap_is_refused() {
        assert_eq!(checked_size(MAX_PACKET_SIZE), Ok(MAX_PACKET_SIZE as u32));
        assert!(checked_size(MAX_PACKET_SIZE + 1).is_err());
        assert!(checked_size(usize::MAX).is_err());
    }

    #[test]
    fn keepalive_alive_and_service_frames() {
        let w = writer();
        let mut out = BytesMut::new();
        w.keepalive(&mut out);
        w.alive(&mut out);
        assert_eq!(&out[..37], &KEEPALIVE_FRAME);
        assert_eq!(&out[37..], &ALIVE_FRAME);

        let mut out = BytesMut::new();
        let body = ServiceBody {
            session_id: 1,
            enc_type: 0,
            cookie: 2,
        };
        w.service(NOW, &body, &mut out);
        let f = frames(&out);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].0.packet_type, PacketType::Service);
        assert_eq!(f[0].0.src_addr, 0x11);
        assert_eq!(f[0].1, &[1, 0, 0, 0, 0, 2, 0, 0, 0]);
    }
}
