//! Fragments: how a channel packet larger than [`FRAGMENT_THRESHOLD`]
//! travels, and how it is put back together.
//!
//! A `FRAGMENT` plaintext is `size u32 | mem_shift u32 | full_size u32`
//! (little-endian) plus exactly `size` bytes: the piece of the channel packet
//! that starts at offset `mem_shift` of a packet `full_size` bytes long. The
//! writer sends the 16-byte channel header alone first, then the data in
//! chunks of at most [`FRAGMENT_THRESHOLD`] bytes.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{
    CHANNEL_HEADER_SIZE, ChannelHeader, FRAGMENT_HEADER_SIZE, FRAGMENT_THRESHOLD, MAX_PACKET_SIZE,
};
use crate::error::{ProtoError, Result};

/// The 12-byte header of a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentHeader {
    /// Bytes of the piece that follows.
    pub size: u32,
    /// Offset of the piece inside the channel packet.
    pub mem_shift: u32,
    /// Length of the whole channel packet.
    pub full_size: u32,
}

impl FragmentHeader {
    pub fn encode(&self) -> [u8; FRAGMENT_HEADER_SIZE] {
        let mut out = [0u8; FRAGMENT_HEADER_SIZE];
        let mut w = &mut out[..];
        w.put_u32_le(self.size);
        w.put_u32_le(self.mem_shift);
        w.put_u32_le(self.full_size);
        out
    }

    /// Reads the first 12 bytes of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        crate::error::need("fragment header", buf, FRAGMENT_HEADER_SIZE)?;
        let mut r = &buf[..FRAGMENT_HEADER_SIZE];
        Ok(Self {
            size: r.get_u32_le(),
            mem_shift: r.get_u32_le(),
            full_size: r.get_u32_le(),
        })
    }
}

/// A decoded fragment plaintext, borrowing its piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    pub header: FragmentHeader,
    pub piece: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// Splits a fragment plaintext; it must end exactly after `size` bytes.
    pub fn decode(plaintext: &'a [u8]) -> Result<Self> {
        let header = FragmentHeader::decode(plaintext)?;
        let piece = &plaintext[FRAGMENT_HEADER_SIZE..];
        let size = header.size as usize;
        if piece.len() < size {
            return Err(ProtoError::Truncated {
                what: "fragment piece",
                need: size,
                have: piece.len(),
            });
        }
        if piece.len() > size {
            return Err(ProtoError::TrailingBytes {
                what: "fragment",
                extra: piece.len() - size,
            });
        }
        Ok(Self { header, piece })
    }

    /// Appends the fragment plaintext (header + piece) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.header.encode());
        out.extend_from_slice(self.piece);
    }
}

/// The fragments of one channel packet, in sending order: the channel
/// header alone, then `data` in chunks of at most [`FRAGMENT_THRESHOLD`].
/// The caller has checked that `16 + data.len()` fits [`MAX_PACKET_SIZE`].
pub fn split_into_fragments<'a>(
    channel_header: &'a [u8; CHANNEL_HEADER_SIZE],
    data: &'a [u8],
) -> impl Iterator<Item = Fragment<'a>> + 'a {
    let full_size = to_u32(CHANNEL_HEADER_SIZE + data.len());
    let first = Fragment {
        header: FragmentHeader {
            size: to_u32(CHANNEL_HEADER_SIZE),
            mem_shift: 0,
            full_size,
        },
        piece: channel_header,
    };
    let chunks = data
        .chunks(FRAGMENT_THRESHOLD)
        .enumerate()
        .map(move |(i, piece)| Fragment {
            header: FragmentHeader {
                size: to_u32(piece.len()),
                mem_shift: to_u32(CHANNEL_HEADER_SIZE + i * FRAGMENT_THRESHOLD),
                full_size,
            },
            piece,
        });
    std::iter::once(first).chain(chunks)
}

/// Sizes here are bounded by [`MAX_PACKET_SIZE`], far below `u32::MAX`.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("fragment sizes stay within MAX_PACKET_SIZE")
}

/// First reservation of a reassembly buffer: it then grows with the bytes
/// that really arrive, so a 12-byte fragment declaring 4 MiB costs little.
const FIRST_RESERVE: usize = 64 * 1024;

/// The channel packet being collected.
#[derive(Debug)]
struct Partial {
    buf: BytesMut,
    full_size: usize,
}

/// Puts fragments back together, strictly in order: each fragment must
/// start where the previous one ended (`mem_shift` = bytes collected so
/// far), with the same `full_size`. Anything else drops the packet being
/// collected and is reported as an error; the reassembler is then idle and
/// the next first fragment (`mem_shift` 0) starts afresh.
#[derive(Debug, Default)]
pub struct Reassembler {
    partial: Option<Partial>,
}

impl Reassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes collected so far (0 when idle).
    pub fn collected(&self) -> usize {
        self.partial.as_ref().map_or(0, |p| p.buf.len())
    }

    /// Takes one fragment plaintext. Returns the whole channel packet when
    /// this fragment completes it.
    pub fn push(&mut self, plaintext: &[u8]) -> Result<Option<Bytes>> {
        let outcome = self.try_push(plaintext);
        if outcome.is_err() {
            self.partial = None;
        }
        outcome
    }

    fn try_push(&mut self, plaintext: &[u8]) -> Result<Option<Bytes>> {
        let fragment = Fragment::decode(plaintext)?;
        let header = fragment.header;
        check_bounds(&header)?;
        let partial = self.partial_for(&header)?;
        let before = partial.buf.len();
        partial.buf.extend_from_slice(fragment.piece);
        if before < CHANNEL_HEADER_SIZE && partial.buf.len() >= CHANNEL_HEADER_SIZE {
            check_channel_header(&partial.buf, partial.full_size)?;
        }
        if partial.buf.len() < partial.full_size {
            return Ok(None);
        }
        let done = self.partial.take().expect("partial_for left one in place");
        Ok(Some(done.buf.freeze()))
    }

    /// The packet this fragment continues, or a new one if it is a first
    /// fragment and nothing is in progress.
    fn partial_for(&mut self, header: &FragmentHeader) -> Result<&mut Partial> {
        let full_size = header.full_size as usize;
        let mem_shift = header.mem_shift as usize;
        let partial = self.partial.get_or_insert_with(|| Partial {
            buf: BytesMut::new(),
            full_size,
        });
        if partial.full_size != full_size {
            return Err(out_of_order(
                "full_size differs from the packet in progress",
            ));
        }
        if mem_shift != partial.buf.len() {
            return Err(out_of_order(
                "mem_shift is not the number of bytes collected so far",
            ));
        }
        if mem_shift == 0 {
            partial.buf.reserve(full_size.min(FIRST_RESERVE));
        }
        Ok(partial)
    }
}

fn out_of_order(reason: &'static str) -> ProtoError {
    ProtoError::Malformed {
        what: "fragment (out of order)",
        reason,
    }
}

/// Checks a fragment against the caps before anything is allocated.
fn check_bounds(header: &FragmentHeader) -> Result<()> {
    let full_size = header.full_size as usize;
    if full_size > MAX_PACKET_SIZE {
        return Err(ProtoError::TooLarge {
            what: "fragmented channel packet",
            size: full_size,
            max: MAX_PACKET_SIZE,
        });
    }
    if full_size < CHANNEL_HEADER_SIZE {
        return Err(ProtoError::Malformed {
            what: "fragment",
            reason: "full_size is smaller than a channel header",
        });
    }
    if header.size == 0 {
        return Err(ProtoError::Malformed {
            what: "fragment",
            reason: "empty piece",
        });
    }
    let end = u64::from(header.mem_shift) + u64::from(header.size);
    if end > u64::from(header.full_size) {
        return Err(ProtoError::Malformed {
            what: "fragment",
            reason: "piece ends past full_size",
        });
    }
    Ok(())
}

/// Once the channel header is in, its `data_size` must agree with `full_size`.
fn check_channel_header(collected: &[u8], full_size: usize) -> Result<()> {
    let header = ChannelHeader::decode(collected)?;
    if header.packet_len() != full_size {
        return Err(ProtoError::WrongSize {
            what: "fragmented channel packet",
            expected: full_size,
            actual: header.packet_len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn channel_header(data_len: usize) -> [u8; CHANNEL_HEADER_SIZE] {
        ChannelHeader {
            id: b'A',
            subtype: b'c',
            seq_id: 9,
            data_size: data_len as u32,
        }
        .encode()
    }

    fn plaintexts(header: &[u8; 16], data: &[u8]) -> Vec<Vec<u8>> {
        split_into_fragments(header, data)
            .map(|f| {
                let mut out = Vec::new();
                f.encode_into(&mut out);
                out
            })
            .collect()
    }

    fn fragment(size: u32, mem_shift: u32, full_size: u32, piece: &[u8]) -> Vec<u8> {
        let mut out = FragmentHeader {
            size,
            mem_shift,
            full_size,
        }
        .encode()
        .to_vec();
        out.extend_from_slice(piece);
        out
    }

    #[test]
    fn fragment_header_is_12_packed_little_endian_bytes() {
        let header = FragmentHeader {
            size: 0x0102_0304,
            mem_shift: 0x1112_1314,
            full_size: 0x2122_2324,
        };
        let bytes = [
            0x04, 0x03, 0x02, 0x01, 0x14, 0x13, 0x12, 0x11, 0x24, 0x23, 0x22, 0x21,
        ];
        assert_eq!(FRAGMENT_HEADER_SIZE, 12);
        assert_eq!(header.encode(), bytes);
        assert_eq!(FragmentHeader::decode(&bytes).unwrap(), header);
        assert_eq!(
            FragmentHeader::decode(&bytes[..11]),
            Err(ProtoError::Truncated {
                what: "fragment header",
                need: 12,
                have: 11
            })
        );
    }

    #[test]
    fn threshold_is_16172() {
        assert_eq!(FRAGMENT_THRESHOLD, 16172);
    }

    #[test]
    fn first_fragment_is_the_channel_header_alone_then_chunks_of_16172() {
        let data = vec![0x5A; 2 * FRAGMENT_THRESHOLD + 5];
        let header = channel_header(data.len());
        let frags: Vec<_> = split_into_fragments(&header, &data).collect();
        let full = (16 + data.len()) as u32;
        let sizes: Vec<_> = frags.iter().map(|f| f.header).collect();
        assert_eq!(
            sizes,
            [
                FragmentHeader {
                    size: 16,
                    mem_shift: 0,
                    full_size: full
                },
                FragmentHeader {
                    size: 16172,
                    mem_shift: 16,
                    full_size: full
                },
                FragmentHeader {
                    size: 16172,
                    mem_shift: 16 + 16172,
                    full_size: full
                },
                FragmentHeader {
                    size: 5,
                    mem_shift: 16 + 2 * 16172,
                    full_size: full
                },
            ]
        );
        assert_eq!(frags[0].piece, &header[..]);
        let first = &plaintexts(&header, &data)[0];
        let mut expected = vec![16, 0, 0, 0, 0, 0, 0, 0];
        expected.extend_from_slice(&full.to_le_bytes());
        expected.extend_from_slice(&header);
        assert_eq!(first, &expected);
    }

    #[test]
    fn fragment_piece_must_fill_the_plaintext_exactly() {
        assert_eq!(
            Fragment::decode(&fragment(4, 0, 20, b"abc")),
            Err(ProtoError::Truncated {
                what: "fragment piece",
                need: 4,
                have: 3
            })
        );
        assert_eq!(
            Fragment::decode(&fragment(2, 0, 20, b"abc")),
            Err(ProtoError::TrailingBytes {
                what: "fragment",
                extra: 1
            })
        );
    }

    #[test]
    fn in_order_fragments_reassemble() {
        let data: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        let header = channel_header(data.len());
        let mut r = Reassembler::new();
        let frags = plaintexts(&header, &data);
        for f in &frags[..frags.len() - 1] {
            assert_eq!(r.push(f).unwrap(), None);
        }
        let whole = r.push(frags.last().unwrap()).unwrap().unwrap();
        assert_eq!(&whole[..16], &header);
        assert_eq!(&whole[16..], &data[..]);
        assert_eq!(r.collected(), 0);
    }

    #[test]
    fn out_of_order_fragment_discards_the_packet() {
        let data = vec![1u8; 3 * FRAGMENT_THRESHOLD];
        let header = channel_header(data.len());
        let frags = plaintexts(&header, &data);
        let mut r = Reassembler::new();
        r.push(&frags[0]).unwrap();
        r.push(&frags[1]).unwrap();
        assert_eq!(r.collected(), 16 + FRAGMENT_THRESHOLD);
        assert_eq!(
            r.push(&frags[3]),
            Err(out_of_order(
                "mem_shift is not the number of bytes collected so far"
            ))
        );
        assert_eq!(r.collected(), 0);
        // The rest of that packet has nothing to continue.
        assert!(r.push(&frags[2]).is_err());
        // A new packet starts cleanly.
        for f in &frags[..3] {
            assert_eq!(r.push(f).unwrap(), None);
        }
        assert!(r.push(&frags[3]).unwrap().is_some());
    }

    #[test]
    fn a_new_first_fragment_while_collecting_is_out_of_order() {
        let data = vec![1u8; 2 * FRAGMENT_THRESHOLD];
        let header = channel_header(data.len());
        let frags = plaintexts(&header, &data);
        let mut r = Reassembler::new();
        r.push(&frags[0]).unwrap();
        r.push(&frags[1]).unwrap();
        assert!(r.push(&frags[0]).is_err());
        assert_eq!(r.collected(), 0);
    }

    #[test]
    fn changed_full_size_is_out_of_order() {
        let header = channel_header(100);
        let mut r = Reassembler::new();
        r.push(&fragment(16, 0, 116, &header)).unwrap();
        assert_eq!(
            r.push(&fragment(10, 16, 117, &[0; 10])),
            Err(out_of_order(
                "full_size differs from the packet in progress"
            ))
        );
        assert_eq!(r.collected(), 0);
    }

    #[test]
    fn full_size_over_4_mib_is_refused_before_allocating() {
        let mut r = Reassembler::new();
        let huge = (MAX_PACKET_SIZE + 1) as u32;
        assert_eq!(
            r.push(&fragment(16, 0, huge, &[0; 16])),
            Err(ProtoError::TooLarge {
                what: "fragmented channel packet",
                size: MAX_PACKET_SIZE + 1,
                max: MAX_PACKET_SIZE
            })
        );
        assert_eq!(r.collected(), 0);
    }

    #[test]
    fn bounds_are_checked() {
        let mut r = Reassembler::new();
        let malformed = |reason| {
            Err(ProtoError::Malformed {
                what: "fragment",
                reason,
            })
        };
        assert_eq!(
            r.push(&fragment(8, 0, 8, &[0; 8])),
            malformed("full_size is smaller than a channel header")
        );
        assert_eq!(r.push(&fragment(0, 0, 20, &[])), malformed("empty piece"));
        assert_eq!(
            r.push(&fragment(21, 0, 20, &[0; 21])),
            malformed("piece ends past full_size")
        );
        assert_eq!(
            r.push(&fragment(4, u32::MAX, 20, &[0; 4])),
            malformed("piece ends past full_size")
        );
        assert!(r.push(&[0; 11]).is_err());
    }

    #[test]
    fn channel_header_must_agree_with_full_size() {
        let mut r = Reassembler::new();
        let header = channel_header(99);
        assert_eq!(
            r.push(&fragment(16, 0, 116, &header)),
            Err(ProtoError::WrongSize {
                what: "fragmented channel packet",
                expected: 116,
                actual: 115
            })
        );
        assert_eq!(r.collected(), 0);
    }

    #[test]
    fn pieces_may_split_anywhere_when_in_order() {
        // Another writer could cut differently; only order matters.
        let header = channel_header(4);
        let mut whole = header.to_vec();
        whole.extend_from_slice(b"wxyz");
        let mut r = Reassembler::new();
        assert_eq!(r.push(&fragment(10, 0, 20, &whole[..10])).unwrap(), None);
        let done = r
            .push(&fragment(10, 10, 20, &whole[10..]))
            .unwrap()
            .unwrap();
        assert_eq!(&done[..], &whole[..]);
    }

    #[test]
    fn fuzz_body_accepts_a_real_fragment_sequence() {
        let data = vec![3u8; FRAGMENT_THRESHOLD + 10];
        let header = channel_header(data.len());
        let mut input = Vec::new();
        for p in plaintexts(&header, &data) {
            input.extend_from_slice(&(p.len() as u16).to_le_bytes());
            input.extend_from_slice(&p);
        }
        crate::fuzzing::dap_fragments(&input);
        crate::fuzzing::dap_fragments(&input[..input.len() / 2]);
    }

    proptest! {
        #[test]
        fn split_then_reassemble_round_trips(len in 0usize..40_000, fill: u8) {
            let data = vec![fill; len];
            let header = channel_header(len);
            let mut r = Reassembler::new();
            let mut whole = None;
            for p in plaintexts(&header, &data) {
                prop_assert!(p.len() <= super::super::MAX_PLAINTEXT);
                prop_assert!(whole.is_none());
                whole = r.push(&p).unwrap();
            }
            let whole = whole.unwrap();
            prop_assert_eq!(&whole[..16], &header[..]);
            prop_assert_eq!(&whole[16..], &data[..]);
        }

        #[test]
        fn arbitrary_fragments_never_panic(
            data in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            crate::fuzzing::dap_fragments(&data);
        }
    }
}
