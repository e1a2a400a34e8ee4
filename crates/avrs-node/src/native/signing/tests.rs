use super::*;
use crate::native::unseal::Unsealer;
use avrs_core::live::{ContentLimits, ContentRegistry, Protocol};
use avrs_crypto::{Algorithm, FrameVerifier};
use avrs_media::{MediaFrame, TrackKind};
use avrs_proto::avrs::Flows;
use avrs_proto::avrs::quic::{ContentInfo, FrameFlags, LIVE_FLOWS};
use std::time::{Duration, Instant};

const CLEAR: &[u8] = b"\x00\x00\x00\x20\x65\x88\x84\x00 the clear picture bytes, 32..";

/// One live frame out of a real fan-out.
async fn live_frame() -> (Arc<LiveFrame>, Guuid) {
    let registry = Arc::new(ContentRegistry::new(
        ContentLimits::default(),
        Duration::from_secs(1),
        || Guuid::new(1, 2),
    ));
    let publisher = registry.publish("live/secret", Instant::now()).unwrap();
    publisher
        .push(
            MediaFrame {
                track: TrackKind::Video,
                dts: 0,
                pts: 3000,
                keyframe: true,
                data: Bytes::from_static(CLEAR),
            },
            Instant::now(),
        )
        .unwrap();
    let content = registry.get("live/secret").unwrap();
    let mut subscriber = content.subscribe(Protocol::Native);
    let batch = subscriber.read(8).await;
    (batch.frames[0].clone(), content.id())
}

#[tokio::test]
async fn a_sealed_frame_travels_without_its_clear_bytes_and_opens_for_the_key_holder() {
    let (frame, content) = live_frame().await;
    let node_key = Arc::new(SigningKey::generate(Algorithm::Ed25519).unwrap());
    let keys = ContentKeys::default();
    let key = keys.key_for(content, |_| true).unwrap();
    assert!(
        Arc::ptr_eq(&key, &keys.key_for(content, |_| false).unwrap()),
        "one key per content"
    );
    // A key for another content forgets those no longer live.
    let other = Guuid::new(9, 9);
    keys.key_for(other, |id| id == other).unwrap();
    assert!(
        !Arc::ptr_eq(&key, &keys.key_for(content, |_| true).unwrap()),
        "the ended content's key was dropped (a new one is made)"
    );
    let signer = ContentSigner::new(node_key, content).sealing(key);

    // What goes on the wire (and what a relay would hold): sealed bytes.
    let payload = signer.payload(&frame);
    assert_ne!(&payload[..], CLEAR);
    assert!(
        !payload.windows(8).any(|w| CLEAR.windows(8).any(|c| c == w)),
        "no 8-byte run of the clear frame in what travels"
    );
    let again = signer.payload(&frame);
    assert_eq!(again.as_ptr(), payload.as_ptr(), "sealed once, cached");

    // A relay checks the signature over the sealed bytes, without the key.
    let (_, mut header) = crate::native::media::frame_place(&frame);
    header.flags |= FrameFlags::SEALED | FrameFlags::SIGNED;
    let verifier = FrameVerifier::new(&signer.origin(), &[]).unwrap();
    let signature = signer.signature(&frame);
    verifier
        .check(frame.seq, 0, header, Some(&signature), &payload)
        .expect("signature over the sealed bytes");

    // The session given the key opens it; a session without one cannot.
    let info = ContentInfo {
        content_id: 1,
        flows: Flows::new(LIVE_FLOWS).unwrap(),
        tracks: vec![],
        origin: Some(signer.origin()),
        key: signer.key_grant(),
    };
    let holder = Unsealer::from_info(Some(&info)).unwrap();
    let clear = holder
        .open(frame.seq, 0, header, payload.clone())
        .unwrap()
        .unwrap();
    assert_eq!(&clear[..], CLEAR);
    let keyless = Unsealer::from_info(Some(&ContentInfo {
        key: None,
        ..info.clone()
    }))
    .unwrap();
    let error = keyless
        .open(frame.seq, 0, header, payload.clone())
        .unwrap_err();
    assert!(error.to_string().contains("no key"), "{error}");
    // Moved to another position: does not open.
    assert!(
        holder
            .open(frame.seq + 1, 0, header, payload)
            .unwrap()
            .is_err()
    );
}

#[tokio::test]
async fn an_unencrypted_content_travels_as_is() {
    let (frame, content) = live_frame().await;
    let node_key = Arc::new(SigningKey::generate(Algorithm::Ed25519).unwrap());
    let signer = ContentSigner::new(node_key, content);
    assert!(!signer.seals() && signer.key_grant().is_none());
    assert_eq!(&signer.payload(&frame)[..], CLEAR);
}
