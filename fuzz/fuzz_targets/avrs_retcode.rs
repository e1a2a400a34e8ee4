//! Return-code (`'r'`) packets: decode, re-encode, decode again.
#![no_main]

use avrs_proto::avrs::{AvrsPacket, RetCodePacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = RetCodePacket::decode(data) else {
        return;
    };
    assert_eq!(
        AvrsPacket::decode(b'r', data),
        Ok(AvrsPacket::RetCode(packet.clone()))
    );
    // A text of just the NUL re-encodes with msglen 0, so compare values.
    let again = packet.encode().expect("a decoded reply re-encodes");
    assert_eq!(RetCodePacket::decode(&again), Ok(packet));
});
