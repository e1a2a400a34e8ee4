//! The bodies of the DAP cargo-fuzz targets (`fuzz/fuzz_targets/dap_*.rs`),
//! kept here so unit tests run exactly the code the fuzzer runs. Each takes
//! arbitrary bytes, must never panic, and asserts the invariants that hold
//! whenever decoding succeeds.

use crate::dap::{
    ChannelHeader, Event, MAX_BUFFERED, MAX_PACKET_SIZE, Reassembler, STREAM_HEADER_SIZE,
    StreamReader,
};

/// The stream reader: the first byte picks a chunk size, the rest is the
/// stream. Buffering stays bounded and every byte is accounted for.
pub fn dap_stream(data: &[u8]) {
    let Some((&first, stream)) = data.split_first() else {
        return;
    };
    let mut reader = StreamReader::default();
    for chunk in stream.chunks(usize::from(first) + 1) {
        let mut chunk = chunk;
        while !chunk.is_empty() {
            let taken = reader.push(chunk);
            chunk = &chunk[taken..];
            while let Some(outcome) = reader.poll() {
                if let Ok(Event::Channel { packet, .. }) = outcome {
                    assert_eq!(packet.data.len(), packet.header.data_size as usize);
                }
            }
            assert!(reader.buffered() <= MAX_BUFFERED);
        }
    }
    let stats = reader.stats();
    assert_eq!(stats.bytes, stream.len() as u64);
    assert!(stats.packets * STREAM_HEADER_SIZE as u64 <= stats.bytes);
}

/// Fragment reassembly on fragment plaintexts, each prefixed by a u16
/// length: what completes is a whole channel packet within the 4 MiB cap.
pub fn dap_fragments(data: &[u8]) {
    let mut reassembler = Reassembler::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let (plaintext, tail) = rest[2..].split_at(len);
        rest = tail;
        if let Ok(Some(whole)) = reassembler.push(plaintext) {
            let header = ChannelHeader::decode(&whole).expect("checked on the way");
            assert_eq!(header.packet_len(), whole.len());
            assert!(whole.len() <= MAX_PACKET_SIZE);
        }
        assert!(reassembler.collected() <= MAX_PACKET_SIZE);
    }
}
