//! What an RTMP client sends after the handshake, as the node reads it: the
//! inbound guard, then rml_rtmp's server session (accepting every request
//! so publish and play paths are reached), then the FLV payload parsers on
//! every media message. The first input byte splits the rest into two reads.
#![no_main]

use avrs_node::rtmp::guard::InboundGuard;
use libfuzzer_sys::fuzz_target;
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let split = split as usize % (rest.len() + 1);
    let Ok((mut session, _)) = ServerSession::new(ServerSessionConfig::new()) else {
        return;
    };
    let mut guard = InboundGuard::default();
    for read in [&rest[..split], &rest[split..]] {
        // A refused read closes the connection: nothing reaches rml_rtmp.
        if guard.check(read).is_err() {
            return;
        }
        let Ok(results) = session.handle_input(read) else {
            return;
        };
        for result in results {
            let ServerSessionResult::RaisedEvent(event) = result else {
                continue;
            };
            match event {
                ServerSessionEvent::ConnectionRequested { request_id, .. }
                | ServerSessionEvent::PublishStreamRequested { request_id, .. }
                | ServerSessionEvent::PlayStreamRequested { request_id, .. } => {
                    let _ = session.accept_request(request_id);
                }
                ServerSessionEvent::VideoDataReceived {
                    data, timestamp, ..
                } => {
                    let _ = avrs_media::flv::video_tag_to_media(&data, i64::from(timestamp.value));
                }
                ServerSessionEvent::AudioDataReceived {
                    data, timestamp, ..
                } => {
                    let _ = avrs_media::flv::audio_tag_to_media(&data, i64::from(timestamp.value));
                }
                _ => {}
            }
        }
    }
});
