//! Session (`'S'`) packets: structure pass, SIGN placement, every typed
//! request, the error → return code mapping, and re-encoding.
#![no_main]

use avrs_proto::avrs::{
    AvrsPacket, ControlPacket, SessionRequest, SessionType, SubType, retcode_for,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packet = match ControlPacket::<SessionType>::decode(data) {
        Ok(packet) => packet,
        Err(err) => {
            let _ = retcode_for(&err, SubType::Session);
            return;
        }
    };
    assert!(matches!(
        AvrsPacket::decode(b'S', data),
        Ok(AvrsPacket::Session(ref p)) if *p == packet
    ));
    if let Some(sign) = packet.sign() {
        assert_eq!(sign.signed_bytes, &data[..8 + sign.offset]);
    }
    match SessionRequest::from_packet(&packet) {
        Ok(request) => {
            let builder = request.to_packet().expect("accepted request re-encodes");
            // OPEN is only read when signed; the signature bytes do not matter here.
            let again = match request {
                SessionRequest::Open(_) => builder.finish_signed(b"sig").expect("small sign"),
                _ => builder.finish(),
            };
            let packet = ControlPacket::<SessionType>::decode(&again).expect("re-encoded decodes");
            let back = SessionRequest::from_packet(&packet).expect("re-encoded request reads");
            assert_eq!(back, request);
        }
        Err(err) => {
            let _ = retcode_for(&err, SubType::Session);
        }
    }
});
