//! DAP stream reader on arbitrary bytes: the first byte picks the chunk size,
//! the rest is the stream. Mirrored by `fuzz_stream` in
//! `crates/avrs-proto/src/dap/tests.rs`.
#![no_main]

use avrs_proto::dap::{Event, MAX_BUFFERED, STREAM_HEADER_SIZE, StreamReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
});
