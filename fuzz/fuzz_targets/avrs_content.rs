//! Content (`'c'`) packets, plus the flows-string and flow-codec parsers
//! fed with the payload.
#![no_main]

use avrs_proto::avrs::{AvrsPacket, ContentPacket, FlowCodec, Flows, SubType, retcode_for};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packet = match ContentPacket::decode(data) {
        Ok(packet) => packet,
        Err(err) => {
            let _ = retcode_for(&err, SubType::Content);
            return;
        }
    };
    // Zero padding is enforced, so there is exactly one encoding.
    assert_eq!(packet.encode(), data);
    assert_eq!(
        AvrsPacket::decode(b'c', data),
        Ok(AvrsPacket::Content(packet))
    );
    if let Ok(flows) = std::str::from_utf8(packet.data).map(Flows::new) {
        match flows {
            Ok(flows) => {
                let in_range = usize::from(packet.header.flow_id) < flows.len();
                assert_eq!(packet.header.check_flow(&flows).is_ok(), in_range);
            }
            Err(err) => {
                let _ = retcode_for(&err, SubType::Cluster);
            }
        }
    }
    if let Ok(codec) = FlowCodec::decode_value(packet.data) {
        assert_eq!(
            codec.encode_value().expect("decoded codec re-encodes"),
            packet.data
        );
    }
});
