//! Cluster (`'C'`) packets: structure pass, SIGN placement, every typed
//! request, the error → return code mapping, and re-encoding.
#![no_main]

use avrs_proto::avrs::{
    AvrsPacket, ClusterRequest, ClusterType, ControlPacket, SubType, retcode_for,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packet = match ControlPacket::<ClusterType>::decode(data) {
        Ok(packet) => packet,
        Err(err) => {
            let _ = retcode_for(&err, SubType::Cluster);
            return;
        }
    };
    // The one entry point agrees with the direct decoder.
    assert!(matches!(
        AvrsPacket::decode(b'C', data),
        Ok(AvrsPacket::Cluster(ref p)) if *p == packet
    ));
    if let Some(sign) = packet.sign() {
        assert_eq!(sign.signed_bytes, &data[..8 + sign.offset]);
    }
    match ClusterRequest::from_packet(&packet) {
        Ok(request) => {
            // What we accept, we can send, and it reads back the same.
            let again = request
                .to_packet()
                .expect("accepted request re-encodes")
                .finish();
            let packet = ControlPacket::<ClusterType>::decode(&again).expect("re-encoded decodes");
            let back = ClusterRequest::from_packet(&packet).expect("re-encoded request reads");
            assert_eq!(back, request);
        }
        Err(err) => {
            let _ = retcode_for(&err, SubType::Cluster);
        }
    }
});
