use super::*;
use crate::native::content_keys::ContentKeys;
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
    let mut holder = Unsealer::from_info(Some(&info)).unwrap();
    let clear = holder
        .open(frame.seq, 0, header, payload.clone())
        .unwrap()
        .unwrap();
    assert_eq!(&clear[..], CLEAR);
    let mut keyless = Unsealer::from_info(Some(&ContentInfo {
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

/// Another frame of the same content, at a later position.
async fn next_frame_of(content: Guuid, seq_hint: u8) -> Arc<LiveFrame> {
    let registry = Arc::new(ContentRegistry::new(
        ContentLimits::default(),
        Duration::from_secs(1),
        move || content,
    ));
    let publisher = registry.publish("live/secret", Instant::now()).unwrap();
    let mut viewer = publisher.content().subscribe(Protocol::Native);
    for n in 0..=seq_hint {
        let frame = MediaFrame {
            track: TrackKind::Video,
            dts: i64::from(n) * 3000,
            pts: i64::from(n) * 3000,
            keyframe: n == 0,
            data: Bytes::from_static(CLEAR),
        };
        publisher.push(frame, Instant::now()).unwrap();
    }
    viewer.try_read(16).frames.pop().unwrap()
}

#[tokio::test]
async fn a_rotated_key_is_announced_first_then_seals_what_follows() {
    let (frame, content) = live_frame().await;
    let node_key = Arc::new(SigningKey::generate(Algorithm::Ed25519).unwrap());
    let keys = ContentKeys::default();
    let mut rotations = keys.subscribe();
    assert!(keys.rotate(content).unwrap().is_none(), "no key yet");
    let sealing = keys.key_for(content, |_| true).unwrap();
    let signer = ContentSigner::new(node_key, content).sealing(sealing.clone());
    let old_grant = signer.key_grant().unwrap();
    let before = signer.payload(&frame);

    let new_key = keys.rotate(content).unwrap().unwrap();
    assert_eq!(new_key.epoch(), 2);
    let announced = rotations.try_recv().unwrap();
    assert_eq!((announced.content, announced.key.epoch()), (content, 2));
    // Announced, not used yet: sessions get the key before any frame.
    assert_eq!(sealing.current().epoch(), 1);
    let switched = tokio::time::timeout(Duration::from_secs(10), async {
        while sealing.current().epoch() != 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    assert!(switched.await.is_ok(), "sealing with it after the grace");
    assert_eq!(signer.key_grant().unwrap().epoch, 2, "new viewers get it");

    // A frame sealed after the switch: epoch 2; the old key cannot open it,
    // the new one can; frames sealed before still open with the old one.
    let after_frame = next_frame_of(content, 3).await;
    let after = signer.payload(&after_frame);
    let (epoch, _) = avrs_proto::avrs::quic::split_sealed(&after).unwrap();
    assert_eq!(epoch, 2);
    let (_, mut header) = crate::native::media::frame_place(&after_frame);
    header.flags |= FrameFlags::SEALED;
    let info = |grant| ContentInfo {
        content_id: 1,
        flows: Flows::new(LIVE_FLOWS).unwrap(),
        tracks: vec![],
        origin: Some(signer.origin()),
        key: Some(grant),
    };
    let mut revoked = Unsealer::from_info(Some(&info(old_grant.clone()))).unwrap();
    let error = revoked
        .open(after_frame.seq, 0, header, after.clone())
        .unwrap_err();
    assert!(error.to_string().contains("epoch 2"), "{error}");
    let mut kept = Unsealer::from_info(Some(&info(old_grant))).unwrap();
    let new_grant = avrs_proto::avrs::quic::ContentKeyGrant {
        epoch: 2,
        key: *new_key.secret_bytes(),
    };
    assert!(kept.needs_newer_key(header, &after));
    kept.add_key(&new_grant).unwrap();
    assert!(!kept.needs_newer_key(header, &after));
    let clear = kept
        .open(after_frame.seq, 0, header, after)
        .unwrap()
        .unwrap();
    assert_eq!(&clear[..], CLEAR);
    let (_, mut old_header) = crate::native::media::frame_place(&frame);
    old_header.flags |= FrameFlags::SEALED;
    assert!(kept.open(frame.seq, 0, old_header, before).unwrap().is_ok());
    assert_eq!(kept.opened.get(&1), Some(&1));
    assert_eq!(kept.opened.get(&2), Some(&1));
}
