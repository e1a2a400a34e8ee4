//! Writer → bytes → reader, end to end.

use bytes::BytesMut;
use proptest::prelude::*;

use super::cipher::ToyAead;
use super::*;
use crate::error::ProtoError;

const NOW: u64 = 1_700_000_000;

/// Deterministic, non-constant filler.
fn payload(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 24) as u8)
        .collect()
}

fn write(w: &mut StreamWriter<impl PayloadCipher>, data: &[u8]) -> BytesMut {
    let mut out = BytesMut::new();
    w.channel_packet(NOW, b'A', b'c', data, &mut out).unwrap();
    out
}

/// Pushes `bytes` in chunks cycling through `chunks`, collecting every
/// poll outcome.
fn read_chunked<C: PayloadCipher>(
    reader: &mut StreamReader<C>,
    bytes: &[u8],
    chunks: &[usize],
) -> Vec<Result<Event, ProtoError>> {
    let mut outcomes = Vec::new();
    let mut rest = bytes;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let size = (*sizes.next().unwrap_or(&rest.len())).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let mut chunk = chunk;
        while !chunk.is_empty() {
            let taken = reader.push(chunk);
            chunk = &chunk[taken..];
            outcomes.extend(std::iter::from_fn(|| reader.poll()));
        }
    }
    outcomes
}

fn read_all(bytes: &[u8]) -> (Vec<Result<Event, ProtoError>>, ReaderStats) {
    let mut reader = StreamReader::default();
    let outcomes = read_chunked(&mut reader, bytes, &[]);
    (outcomes, *reader.stats())
}

fn channel(outcome: &Result<Event, ProtoError>) -> (&ChannelPacket, u64) {
    match outcome {
        Ok(Event::Channel { packet, lost }) => (packet, *lost),
        other => panic!("expected a channel packet, got {other:?}"),
    }
}

/// Splits writer output into whole frames.
fn frames(bytes: &[u8]) -> Vec<&[u8]> {
    let mut rest = bytes;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let header = StreamHeader::decode(rest).unwrap();
        let (frame, tail) = rest.split_at(STREAM_HEADER_SIZE + header.payload_len());
        out.push(frame);
        rest = tail;
    }
    out
}

fn size_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..65_536,
        (FRAGMENT_THRESHOLD - 20)..(FRAGMENT_THRESHOLD + 4),
    ]
}

/// Round trip with any cipher: same packets, same seq ids, no errors.
fn round_trip<C: PayloadCipher>(
    mut writer: StreamWriter<C>,
    mut reader: StreamReader<C>,
    packets: &[(u8, u8, usize, u32)],
    chunks: &[usize],
) -> Result<(), TestCaseError> {
    let mut wire = BytesMut::new();
    let mut sent = Vec::new();
    for (i, &(id, subtype, len, seed)) in packets.iter().enumerate() {
        let data = payload(len, seed);
        let seq = writer
            .channel_packet(NOW, id, subtype, &data, &mut wire)
            .unwrap();
        prop_assert_eq!(seq, i as u64);
        sent.push((id, subtype, seq, data));
    }
    let outcomes = read_chunked(&mut reader, &wire, chunks);
    prop_assert_eq!(outcomes.len(), sent.len());
    for (outcome, (id, subtype, seq, data)) in outcomes.iter().zip(&sent) {
        let (packet, lost) = channel(outcome);
        prop_assert_eq!(lost, 0);
        prop_assert_eq!(packet.header.id, *id);
        prop_assert_eq!(packet.header.subtype, *subtype);
        prop_assert_eq!(packet.header.seq_id, *seq);
        prop_assert_eq!(&packet.data[..], &data[..]);
    }
    let stats = reader.stats();
    prop_assert_eq!(stats.bytes, wire.len() as u64);
    prop_assert_eq!(stats.channel_packets, sent.len() as u64);
    prop_assert_eq!(stats.resync_skipped, 0);
    prop_assert_eq!(reader.buffered(), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn packets_survive_any_chunking(
        packets in proptest::collection::vec((any::<u8>(), any::<u8>(), size_strategy(), any::<u32>()), 1..4),
        chunks in proptest::collection::vec(1usize..20_000, 1..8),
    ) {
        round_trip(StreamWriter::default(), StreamReader::default(), &packets, &chunks)?;
    }

    #[test]
    fn packets_survive_any_chunking_through_a_cipher(
        packets in proptest::collection::vec((any::<u8>(), any::<u8>(), size_strategy(), any::<u32>()), 1..4),
        chunks in proptest::collection::vec(1usize..20_000, 1..8),
    ) {
        let writer = StreamWriter::new(ToyAead, NodeAddrs { src: 1, dst: 2 });
        round_trip(writer, StreamReader::new(ToyAead), &packets, &chunks)?;
    }

    #[test]
    fn garbage_before_and_between_packets_is_skipped_and_counted(
        prefix in proptest::collection::vec(any::<u8>(), 0..300),
        infix in proptest::collection::vec(any::<u8>(), 0..300),
        chunk in 1usize..100,
    ) {
        let sig_in = |g: &[u8]| g.windows(8).any(|w| w == SIGNATURE);
        prop_assume!(!sig_in(&prefix) && !sig_in(&infix));
        let mut w = StreamWriter::default();
        let mut wire = prefix.clone();
        wire.extend_from_slice(&write(&mut w, b"one"));
        wire.extend_from_slice(&infix);
        wire.extend_from_slice(&write(&mut w, b"two"));
        let mut reader = StreamReader::default();
        let outcomes = read_chunked(&mut reader, &wire, &[chunk]);
        prop_assert_eq!(outcomes.len(), 2);
        prop_assert_eq!(&channel(&outcomes[0]).0.data[..], b"one");
        prop_assert_eq!(&channel(&outcomes[1]).0.data[..], b"two");
        prop_assert_eq!(reader.stats().resync_skipped, (prefix.len() + infix.len()) as u64);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        crate::fuzzing::dap_stream(&data);
    }

    #[test]
    fn arbitrary_frames_never_panic(
        frames in proptest::collection::vec((0u8..3, proptest::collection::vec(any::<u8>(), 0..64)), 0..16),
    ) {
        // Valid headers around arbitrary payloads reach the deeper layers.
        let mut wire = Vec::new();
        for (kind, body) in &frames {
            let packet_type = [PacketType::Data, PacketType::Fragment, PacketType::Service][usize::from(*kind)];
            let header = StreamHeader { size: body.len() as u32, ..StreamHeader::bare(packet_type) };
            wire.extend_from_slice(&header.encode());
            wire.extend_from_slice(body);
        }
        crate::fuzzing::dap_stream(&wire);
    }
}

#[test]
fn fuzz_stream_decodes_a_real_stream() {
    let mut w = StreamWriter::default();
    let mut data = vec![7u8];
    data.extend_from_slice(&write(&mut w, &payload(40_000, 1)));
    crate::fuzzing::dap_stream(&data);
    crate::fuzzing::dap_stream(&data[..data.len() / 2]);
    crate::fuzzing::dap_stream(&[]);
}

#[test]
fn truncated_stream_waits_for_the_rest() {
    let wire = write(&mut StreamWriter::default(), b"payload");
    let mut reader = StreamReader::default();
    for cut in [1, 7, 8, 36, 37, wire.len() - 1] {
        let mut r = StreamReader::default();
        assert_eq!(r.push(&wire[..cut]), cut);
        assert_eq!(r.poll(), None, "cut at {cut}");
        assert_eq!(r.buffered(), cut);
    }
    reader.push(&wire[..wire.len() - 1]);
    assert_eq!(reader.poll(), None);
    reader.push(&wire[wire.len() - 1..]);
    assert_eq!(&channel(&reader.poll().unwrap()).0.data[..], b"payload");
    assert_eq!(reader.poll(), None);
}

#[test]
fn oversize_header_is_dropped_by_skipping_37_bytes() {
    let mut bad = StreamHeader::bare(PacketType::Data);
    bad.size = (MAX_PACKET_SIZE + 1) as u32;
    let mut wire = bad.encode().to_vec();
    wire.extend_from_slice(&write(&mut StreamWriter::default(), b"after"));
    let (outcomes, stats) = read_all(&wire);
    assert_eq!(
        outcomes[0],
        Err(ProtoError::TooLarge {
            what: "stream packet",
            size: MAX_PACKET_SIZE + 1,
            max: MAX_PACKET_SIZE
        })
    );
    assert_eq!(&channel(&outcomes[1]).0.data[..], b"after");
    assert_eq!(outcomes.len(), 2);
    assert_eq!(stats.oversize_drops, 1);
    assert_eq!(stats.bad_headers, 0);
    assert_eq!(stats.resync_skipped, 0);
}

#[test]
fn unknown_type_and_bad_fixed_sizes_are_dropped_and_counted() {
    let mut unknown = StreamHeader::bare(PacketType::Data).encode();
    unknown[20] = 0x13;
    let mut fat_keepalive = StreamHeader::bare(PacketType::Keepalive);
    fat_keepalive.size = 4;
    let mut wire = unknown.to_vec();
    wire.extend_from_slice(&fat_keepalive.encode());
    wire.extend_from_slice(&[0; 4]); // its would-be body: garbage now
    wire.extend_from_slice(&KEEPALIVE_FRAME);
    let (outcomes, stats) = read_all(&wire);
    assert!(matches!(
        outcomes[0],
        Err(ProtoError::UnknownValue { value: 0x13, .. })
    ));
    assert!(matches!(outcomes[1], Err(ProtoError::WrongSize { .. })));
    assert_eq!(outcomes[2], Ok(Event::Keepalive));
    assert_eq!(outcomes.len(), 3);
    assert_eq!(stats.bad_headers, 2);
    assert_eq!(stats.resync_skipped, 4);
}

#[test]
fn keepalive_alive_and_service_events() {
    let w = StreamWriter::default();
    let body = ServiceBody {
        session_id: 42,
        enc_type: 6,
        cookie: 7,
    };
    let mut wire = BytesMut::new();
    w.keepalive(&mut wire);
    w.alive(&mut wire);
    w.service(NOW, &body, &mut wire);
    let (outcomes, stats) = read_all(&wire);
    assert_eq!(
        outcomes,
        [
            Ok(Event::Keepalive),
            Ok(Event::Alive),
            Ok(Event::Service(body))
        ]
    );
    assert_eq!(stats.packets, 3);
}

#[test]
fn out_of_order_fragments_are_rejected_and_the_stream_recovers() {
    let mut w = StreamWriter::default();
    let big = write(&mut w, &payload(3 * FRAGMENT_THRESHOLD, 5));
    let after = write(&mut w, b"after");
    let f = frames(&big);
    assert_eq!(f.len(), 4);
    let mut wire = Vec::new();
    for i in [0, 2, 1, 3] {
        wire.extend_from_slice(f[i]);
    }
    wire.extend_from_slice(&after);
    let (outcomes, stats) = read_all(&wire);
    // Fragment 2 breaks the order; 1 and 3 then have nothing to continue.
    assert_eq!(outcomes.len(), 4);
    assert!(outcomes[..3].iter().all(|o| matches!(
        o,
        Err(ProtoError::Malformed {
            what: "fragment (out of order)",
            ..
        })
    )));
    let (packet, lost) = channel(&outcomes[3]);
    assert_eq!(&packet.data[..], b"after");
    assert_eq!((packet.header.seq_id, lost), (1, 1));
    assert_eq!(stats.reassembly_errors, 3);
    assert_eq!(stats.gaps, 1);
}

#[test]
fn replayed_packet_is_dropped_and_counted() {
    let mut w = StreamWriter::default();
    let first = write(&mut w, b"first");
    let second = write(&mut w, b"second");
    let mut wire = first.to_vec();
    wire.extend_from_slice(&second);
    wire.extend_from_slice(&first);
    wire.extend_from_slice(&second);
    let (outcomes, stats) = read_all(&wire);
    assert_eq!(outcomes.len(), 4);
    assert_eq!(&channel(&outcomes[1]).0.data[..], b"second");
    assert_eq!(outcomes[2], Err(ProtoError::Replay { seq_id: 0, last: 1 }));
    assert_eq!(outcomes[3], Err(ProtoError::Replay { seq_id: 1, last: 1 }));
    assert_eq!(stats.replays, 2);
    assert_eq!(stats.channel_packets, 2);
}

#[test]
fn a_jump_in_seq_id_is_accepted_and_counted_as_loss() {
    let mut w = StreamWriter::default();
    let packets: Vec<_> = (0..5).map(|i| write(&mut w, &[i])).collect();
    let mut wire = packets[0].to_vec();
    wire.extend_from_slice(&packets[3]);
    wire.extend_from_slice(&packets[4]);
    let (outcomes, stats) = read_all(&wire);
    let seen: Vec<_> = outcomes
        .iter()
        .map(|o| {
            let (p, lost) = channel(o);
            (p.header.seq_id, lost)
        })
        .collect();
    assert_eq!(seen, [(0, 0), (3, 2), (4, 0)]);
    assert_eq!((stats.gaps, stats.lost_seq_ids), (1, 2));
}

#[test]
fn data_whose_length_disagrees_with_data_size_is_dropped() {
    let header = ChannelHeader {
        id: b'A',
        subtype: 0,
        seq_id: 0,
        data_size: 10,
    };
    let mut plaintext = header.encode().to_vec();
    plaintext.extend_from_slice(&[0; 9]);
    let stream_header = StreamHeader {
        size: plaintext.len() as u32,
        ..StreamHeader::bare(PacketType::Data)
    };
    let mut wire = stream_header.encode().to_vec();
    wire.extend_from_slice(&plaintext);
    let (outcomes, stats) = read_all(&wire);
    assert_eq!(
        outcomes,
        [Err(ProtoError::WrongSize {
            what: "channel packet",
            expected: 26,
            actual: 25
        })]
    );
    assert_eq!(stats.bad_payloads, 1);
}

#[test]
fn tampered_header_fails_authentication_and_later_packets_still_open() {
    let mut w = StreamWriter::new(ToyAead, NodeAddrs::default());
    let mut wire = write(&mut w, b"one").to_vec();
    wire[12] ^= 1; // the timestamp, bound as associated data
    wire.extend_from_slice(&write(&mut w, b"two"));
    let mut reader = StreamReader::new(ToyAead);
    let outcomes = read_chunked(&mut reader, &wire, &[]);
    assert_eq!(
        outcomes[0],
        Err(ProtoError::Unauthenticated {
            what: "sealed payload"
        })
    );
    let (packet, lost) = channel(&outcomes[1]);
    assert_eq!((&packet.data[..], lost), (&b"two"[..], 1));
    assert_eq!(reader.stats().bad_payloads, 1);
}

#[test]
fn a_dropped_sealed_packet_breaks_the_implicit_nonce() {
    // Cutting a packet out of an authenticated stream must not go unseen.
    let mut w = StreamWriter::new(ToyAead, NodeAddrs::default());
    let _lost = write(&mut w, b"one");
    let wire = write(&mut w, b"two");
    let mut reader = StreamReader::new(ToyAead);
    let outcomes = read_chunked(&mut reader, &wire, &[]);
    assert!(outcomes[0].is_err());
}

#[test]
fn reader_buffers_at_most_one_header_and_one_max_packet() {
    // A legal 4 MiB DATA packet, followed by more bytes.
    let data_size = MAX_PACKET_SIZE - CHANNEL_HEADER_SIZE;
    let header = ChannelHeader {
        id: b'A',
        subtype: 0,
        seq_id: 0,
        data_size: data_size as u32,
    };
    let stream_header = StreamHeader {
        size: MAX_PACKET_SIZE as u32,
        ..StreamHeader::bare(PacketType::Data)
    };
    let mut wire = stream_header.encode().to_vec();
    wire.extend_from_slice(&header.encode());
    wire.resize(MAX_BUFFERED, 9);
    wire.extend_from_slice(&KEEPALIVE_FRAME);

    let mut reader = StreamReader::default();
    assert_eq!(reader.push(&wire), MAX_BUFFERED);
    assert_eq!(reader.room(), 0);
    assert_eq!(reader.push(&wire[MAX_BUFFERED..]), 0);
    let outcome = reader.poll().unwrap();
    assert_eq!(channel(&outcome).0.data.len(), data_size);
    assert_eq!(reader.room(), MAX_BUFFERED);
    assert_eq!(reader.push(&wire[MAX_BUFFERED..]), 37);
    assert_eq!(reader.poll(), Some(Ok(Event::Keepalive)));
}

#[test]
fn garbage_larger_than_the_buffer_drains() {
    let garbage = vec![0x55u8; MAX_BUFFERED + 1000];
    let mut reader = StreamReader::default();
    let outcomes = read_chunked(&mut reader, &garbage, &[]);
    assert!(outcomes.is_empty());
    assert_eq!(reader.stats().resync_skipped, garbage.len() as u64);
    assert_eq!(reader.buffered(), 0);
}

#[test]
fn partial_signature_at_the_end_is_kept_until_completed() {
    let wire = write(&mut StreamWriter::default(), b"x");
    let mut reader = StreamReader::default();
    reader.push(&[1, 2, 3]);
    reader.push(&wire[..5]);
    assert_eq!(reader.poll(), None);
    assert_eq!(reader.buffered(), 5);
    reader.push(&wire[5..]);
    assert_eq!(&channel(&reader.poll().unwrap()).0.data[..], b"x");
    assert_eq!(reader.stats().resync_skipped, 3);
}

#[test]
fn fragment_errors_in_the_reader_are_counted() {
    // A fragment declaring 5 MiB: refused before any allocation.
    let fragment = FragmentHeader {
        size: 16,
        mem_shift: 0,
        full_size: 5 << 20,
    };
    let mut plaintext = fragment.encode().to_vec();
    plaintext.extend_from_slice(&[0; 16]);
    let header = StreamHeader {
        size: plaintext.len() as u32,
        ..StreamHeader::bare(PacketType::Fragment)
    };
    let mut wire = header.encode().to_vec();
    wire.extend_from_slice(&plaintext);
    let (outcomes, stats) = read_all(&wire);
    assert!(matches!(outcomes[..], [Err(ProtoError::TooLarge { .. })]));
    assert_eq!(stats.reassembly_errors, 1);
}
