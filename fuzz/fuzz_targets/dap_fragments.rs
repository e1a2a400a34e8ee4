//! Fragment reassembly on arbitrary fragment plaintexts, each prefixed by a
//! u16 length. Mirrored by `fuzz_body` in
//! `crates/avrs-proto/src/dap/fragment.rs`.
#![no_main]

use avrs_proto::dap::{ChannelHeader, MAX_PACKET_SIZE, Reassembler};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
});
