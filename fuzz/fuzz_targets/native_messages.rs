//! Native AVRS group-stream messages: a CONTENT_UPDATE (with its
//! CONTENT_ORIGIN) and a frame message (with its signature block) must
//! decode or fail, never panic; a decoded origin is fed to the verifier.
#![no_main]

use avrs_proto::avrs::quic::{ContentInfo, decode_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = ContentInfo::decode(data) {
        if let Some(origin) = &info.origin {
            let _ = avrs_crypto::FrameVerifier::new(origin, &[]);
        }
    }
    if let Ok(parts) = decode_frame(data) {
        let _ = (parts.signature, parts.frame.len());
    }
});
