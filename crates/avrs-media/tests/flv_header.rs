//! FLV file and tag headers: literal layouts and error paths.

use avrs_media::MediaError;
use avrs_media::flv::{FileHeader, MAX_TAG_DATA_SIZE, TagHeader, TagType};

#[test]
fn file_header_literal_bytes() {
    let header = FileHeader {
        has_audio: true,
        has_video: true,
    };
    // 'FLV', version 1, audio|video flags, data offset 9, PreviousTagSize0.
    let bytes = [
        0x46, 0x4C, 0x56, 0x01, 0x05, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00,
    ];
    assert_eq!(header.to_bytes(), bytes);
    assert_eq!(FileHeader::parse(&bytes).unwrap(), (header, 13));
    let video_only = FileHeader {
        has_audio: false,
        has_video: true,
    };
    assert_eq!(video_only.to_bytes()[4], 0x01);
    let audio_only = FileHeader {
        has_audio: true,
        has_video: false,
    };
    assert_eq!(audio_only.to_bytes()[4], 0x04);
}

#[test]
fn larger_data_offset_is_skipped() {
    let bytes = [b'F', b'L', b'V', 1, 0x01, 0, 0, 0, 20];
    let (header, skip) = FileHeader::parse(&bytes).unwrap();
    assert!(header.has_video && !header.has_audio);
    assert_eq!(skip, 24);
}

#[test]
fn file_header_error_paths() {
    let cases: &[(&[u8], &str)] = &[
        (b"FL", "truncated"),
        (b"FLX\x01\x05\0\0\0\x09", "signature"),
        (b"FLV\x02\x05\0\0\0\x09", "FLV version: 2"),
        (b"FLV\x01\x05\0\0\0\x08", "below 9"),
        (b"FLV\x01\x05\0\0\x04\x01", "too large"),
    ];
    for (raw, expected) in cases {
        let err = FileHeader::parse(raw).unwrap_err();
        assert!(err.to_string().contains(expected), "{raw:?}: {err}");
    }
}

#[test]
fn tag_header_literal_bytes() {
    let header = TagHeader::new(TagType::Video, 0x01_0203, 0x1234_5678).unwrap();
    // Type 9, size u24, timestamp low 24 bits then the high byte, stream 0.
    let bytes = [
        0x09, 0x01, 0x02, 0x03, 0x34, 0x56, 0x78, 0x12, 0x00, 0x00, 0x00,
    ];
    assert_eq!(header.to_bytes(), bytes);
    assert_eq!(TagHeader::parse(&bytes).unwrap(), header);
    assert_eq!(header.tag_len(), 11 + 0x01_0203 + 4);
}

#[test]
fn tag_types() {
    for (tag_type, byte) in [
        (TagType::Audio, 8),
        (TagType::Video, 9),
        (TagType::Script, 18),
        (TagType::Other(7), 7),
    ] {
        assert_eq!(tag_type.to_u8(), byte);
        assert_eq!(TagType::from_u8(byte), tag_type);
    }
    // Reserved bits above the 5-bit type are ignored when reading.
    let header = TagHeader::parse(&[0xC8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(header.tag_type, TagType::Audio);
}

#[test]
fn stream_id_is_ignored() {
    let header = TagHeader::parse(&[8, 0, 0, 1, 0, 0, 5, 0, 0xAB, 0xCD, 0xEF]).unwrap();
    assert_eq!(header.timestamp, 5);
}

#[test]
fn tag_header_error_paths() {
    assert!(matches!(
        TagHeader::parse(&[9, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        Err(MediaError::Truncated {
            need: 11,
            have: 10,
            ..
        })
    ));
    let err = TagHeader::parse(&[0x29, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]).unwrap_err();
    assert!(err.to_string().contains("encrypted"), "{err}");
    assert!(matches!(
        TagHeader::new(TagType::Video, MAX_TAG_DATA_SIZE + 1, 0),
        Err(MediaError::TooLarge { .. })
    ));
}
