//! Native AVRS messages: a CONTENT_UPDATE (with its CONTENT_ORIGIN), a frame
//! message (with its signature block), and the client's control requests
//! (OPEN with token/resume, CONTENT_ADD with start position and quality,
//! CONTENT_UPDATE for VoD control) must decode or fail, never panic; a
//! decoded origin is fed to the verifier.
#![no_main]

use avrs_proto::avrs::quic::{BoundOpen, ContentControl, ContentInfo, ContentRequest, decode_frame};
use avrs_proto::avrs::{ControlPacket, SessionType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = ContentInfo::decode(data)
        && let Some(origin) = &info.origin
    {
        let _ = avrs_crypto::FrameVerifier::new(origin, &[]);
    }
    if let Ok(parts) = decode_frame(data) {
        let _ = (parts.signature, parts.frame.len());
    }
    if let Ok(packet) = ControlPacket::<SessionType>::decode(data) {
        let _ = BoundOpen::from_packet(&packet);
        let _ = ContentRequest::from_packet(&packet);
        let _ = ContentControl::from_packet(&packet);
    }
});
