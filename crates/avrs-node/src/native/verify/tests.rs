use super::*;
use avrs_crypto::{Algorithm, FramePlace, SigningKey, sign_frame};
use avrs_proto::Guuid;
use avrs_proto::avrs::Flows;
use avrs_proto::avrs::quic::{ContentOrigin, FrameFlags, LIVE_FLOWS};

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::Ed25519).unwrap()
}

fn info(origin: Option<&SigningKey>) -> ContentInfo {
    ContentInfo {
        content_id: 1,
        flows: Flows::new(LIVE_FLOWS).unwrap(),
        tracks: vec![],
        origin: origin.map(|key| ContentOrigin {
            content: Guuid::new(5, 6),
            algorithm: key.algorithm().sign_type_code() as u16,
            public_key: key.public_key().as_bytes().to_vec(),
        }),
        key: None,
    }
}

fn header() -> FrameHeader {
    FrameHeader {
        flags: FrameFlags::KEYFRAME | FrameFlags::SIGNED,
        dts: 0,
        pts: 0,
    }
}

fn signed(key: &SigningKey, seq: u64, frame: &[u8]) -> Vec<u8> {
    let place = FramePlace {
        content: Guuid::new(5, 6),
        seq,
        flow: 0,
        header: header(),
    };
    sign_frame(key, &place, frame).unwrap()
}

#[test]
fn good_frames_play_and_altered_ones_are_dropped_and_counted() {
    let publisher = key();
    let mut check = ContentCheck::new(vec![]);
    check.on_info(&info(Some(&publisher))).unwrap();
    let frame = b"frame bytes".to_vec();
    let signature = signed(&publisher, 3, &frame);
    assert!(check.admit(3, 0, header(), Some(&signature), &frame));
    let mut altered = frame.clone();
    altered[0] ^= 1;
    assert!(!check.admit(3, 0, header(), Some(&signature), &altered));
    assert!(!check.admit(3, 0, header(), None, &frame), "unsigned");
    assert!(
        !check.admit(4, 0, header(), Some(&signature), &frame),
        "replayed"
    );
    assert_eq!(
        check.stats,
        CheckStats {
            verified: 1,
            corrupted: 3,
            unchecked: 0
        }
    );
}

#[test]
fn an_untrusted_signer_ends_the_watch_and_a_trusted_one_is_accepted() {
    let publisher = key();
    let relay = key();
    let mut pinned = ContentCheck::new(vec![publisher.id().0]);
    assert!(pinned.on_info(&info(Some(&publisher))).is_ok());
    let error = pinned.on_info(&info(Some(&relay))).unwrap_err();
    assert!(error.to_string().contains("SIGN_ALIEN"), "{error}");
    let error = pinned.on_info(&info(None)).unwrap_err();
    assert!(error.to_string().contains("SIGN_NOT_PRESENT"), "{error}");
}

#[test]
fn an_unsigned_content_plays_unchecked_when_no_signer_is_required() {
    let mut check = ContentCheck::new(vec![]);
    check.on_info(&info(None)).unwrap();
    assert!(check.admit(0, 0, header(), None, b"x"));
    assert_eq!(check.stats.unchecked, 1);
}

#[test]
fn a_disabled_check_plays_everything_unchecked() {
    let mut check = ContentCheck::disabled();
    check.on_info(&info(Some(&key()))).unwrap();
    assert!(check.admit(0, 0, header(), Some(b"not a signature"), b"x"));
    assert_eq!((check.stats.verified, check.stats.unchecked), (0, 1));
}
