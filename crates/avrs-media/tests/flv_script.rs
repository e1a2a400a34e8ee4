//! AMF0 and script tags: `onMetaData` layout, reading ffmpeg's metadata,
//! caps against hostile input, round trips.

use avrs_media::MediaError;
use avrs_media::codec::{audio_config_from_asc, video_config_from_avcc};
use avrs_media::flv::amf0::{self, Amf0Value, MAX_DEPTH, read_value_prefix, read_values};
use avrs_media::flv::{OnMetaData, ScriptTag, metadata_tag, parse_tag};
use proptest::prelude::*;

const AVCC_720P: &[u8] = &[
    0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50,
    0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83,
    0x19, 0x60, 0x01, 0x00, 0x04, 0x68, 0xef, 0xbc, 0xb0, 0xfd, 0xf8, 0xf8, 0x00,
];

#[test]
fn on_metadata_literal_bytes() {
    let meta = OnMetaData {
        video: None,
        framerate: None,
        audio: Some((44100, true)),
    };
    let mut expected = vec![0x02, 0x00, 0x0A];
    expected.extend_from_slice(b"onMetaData");
    expected.extend_from_slice(&[0x08, 0x00, 0x00, 0x00, 0x03]);
    expected.extend_from_slice(b"\x00\x0caudiocodecid\x00\x40\x24\x00\x00\x00\x00\x00\x00");
    expected.extend_from_slice(b"\x00\x0faudiosamplerate\x00\x40\xE5\x88\x80\x00\x00\x00\x00");
    expected.extend_from_slice(b"\x00\x06stereo\x01\x01");
    expected.extend_from_slice(&[0x00, 0x00, 0x09]);
    assert_eq!(meta.to_payload(), expected);
}

#[test]
fn on_metadata_from_configs() {
    let video = video_config_from_avcc(AVCC_720P).unwrap();
    let audio = audio_config_from_asc(&[0x11, 0x88]).unwrap();
    let meta = OnMetaData::from_configs(Some(&video), Some(&audio));
    assert_eq!(
        meta,
        OnMetaData {
            video: Some((1280, 720)),
            framerate: Some(30.0),
            audio: Some((48000, false)),
        }
    );
    let tag = metadata_tag(&meta).unwrap();
    let (header, body, _) = parse_tag(&tag).unwrap();
    assert_eq!(header.timestamp, 0);
    let script = ScriptTag::parse(body).unwrap();
    assert_eq!(script.name, "onMetaData");
    let object = script.metadata().unwrap();
    let number = |key| object.get(key).and_then(Amf0Value::as_f64);
    assert_eq!(number("width"), Some(1280.0));
    assert_eq!(number("height"), Some(720.0));
    assert_eq!(number("framerate"), Some(30.0));
    assert_eq!(number("videocodecid"), Some(7.0));
    assert_eq!(number("audiocodecid"), Some(10.0));
    assert_eq!(number("audiosamplerate"), Some(48000.0));
    assert_eq!(object.get("stereo"), Some(&Amf0Value::Boolean(false)));
}

#[test]
fn he_aac_reports_its_output_rate() {
    let audio = audio_config_from_asc(&[0x2B, 0x11, 0x88, 0x00]).unwrap();
    let meta = OnMetaData::from_configs(None, Some(&audio));
    assert_eq!(meta.audio, Some((48000, true)));
}

#[test]
fn reads_metadata_written_by_ffmpeg() {
    let data = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/testsrc2-720p30-aac.flv"
    ))
    .unwrap();
    let (_, body, _) = parse_tag(&data[13..]).unwrap();
    let script = ScriptTag::parse(body).unwrap();
    let object = script.metadata().unwrap();
    assert_eq!(
        object.get("width").and_then(Amf0Value::as_f64),
        Some(1280.0)
    );
    assert_eq!(
        object
            .get("encoder")
            .and_then(Amf0Value::as_str)
            .map(|s| s.starts_with("Lavf")),
        Some(true)
    );
}

#[test]
fn set_data_frame_wrapper_is_understood() {
    let mut data = Vec::new();
    amf0::write_string("@setDataFrame", &mut data);
    amf0::write_string("onMetaData", &mut data);
    Amf0Value::Object(vec![("width".into(), Amf0Value::Number(640.0))]).write(&mut data);
    let script = ScriptTag::parse(&data).unwrap();
    assert_eq!(script.name, "@setDataFrame");
    assert_eq!(
        script.metadata().and_then(|m| m.get("width")),
        Some(&Amf0Value::Number(640.0))
    );
    let mut other = Vec::new();
    amf0::write_string("onCuePoint", &mut other);
    assert_eq!(ScriptTag::parse(&other).unwrap().metadata(), None);
}

#[test]
fn every_value_type_reads() {
    let mut data = vec![0x00];
    data.extend_from_slice(&1.5f64.to_be_bytes());
    data.extend_from_slice(&[0x01, 0x01]); // true
    data.extend_from_slice(&[0x05, 0x06]); // null, undefined
    data.extend_from_slice(&[0x07, 0x00, 0x02]); // reference 2
    data.extend_from_slice(&[0x0A, 0, 0, 0, 2, 0x05, 0x05]); // [null, null]
    data.push(0x0B);
    data.extend_from_slice(&2.0f64.to_be_bytes());
    data.extend_from_slice(&[0x00, 0x3C]); // date, time zone ignored
    data.extend_from_slice(&[0x0C, 0, 0, 0, 2, b'h', b'i']); // long string
    data.extend_from_slice(&[0x0F, 0, 0, 0, 1, b'x']); // XML document
    data.push(0x0D); // unsupported
    data.extend_from_slice(&[0x10, 0, 1, b'C', 0, 1, b'a', 0x05, 0, 0, 0x09]); // typed object
    data.extend_from_slice(&[0x02, 0x00, 0x02, 0xFF, b'a']); // invalid UTF-8
    assert_eq!(
        read_values(&data).unwrap(),
        vec![
            Amf0Value::Number(1.5),
            Amf0Value::Boolean(true),
            Amf0Value::Null,
            Amf0Value::Undefined,
            Amf0Value::Reference(2),
            Amf0Value::StrictArray(vec![Amf0Value::Null, Amf0Value::Null]),
            Amf0Value::Date(2.0),
            Amf0Value::String("hi".into()),
            Amf0Value::String("x".into()),
            Amf0Value::Unsupported,
            Amf0Value::Object(vec![("a".into(), Amf0Value::Null)]),
            Amf0Value::String("\u{FFFD}a".into()),
        ]
    );
}

#[test]
fn amf0_error_paths() {
    let cases: &[(&[u8], &str)] = &[
        (&[0x00, 0x3F], "truncated"),
        (&[0x02, 0x00, 0x05, b'a'], "truncated"),
        (&[0x03, 0x00, 0x01, b'a', 0x05], "truncated"),
        (
            &[0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05],
            "strict array truncated",
        ),
        (&[0x0C, 0xFF, 0xFF, 0xFF, 0xFF], "truncated"),
        (&[0x04], "type marker: 0x04"),
        (&[0x11], "type marker: 0x11"),
        (&[0x09], "type marker: 0x09"),
    ];
    for (raw, expected) in cases {
        let err = read_values(raw).unwrap_err();
        assert!(err.to_string().contains(expected), "{raw:02X?}: {err}");
    }
}

#[test]
fn nesting_is_capped() {
    let nested = |depth: usize| {
        let mut data = Vec::new();
        for _ in 0..depth {
            data.extend_from_slice(&[0x0A, 0, 0, 0, 1]);
        }
        data.push(0x05);
        data
    };
    assert!(read_values(&nested(MAX_DEPTH)).is_ok());
    assert!(matches!(
        read_values(&nested(MAX_DEPTH + 1)),
        Err(MediaError::TooLarge { .. })
    ));
    // Deep hostile input fails fast instead of overflowing the stack.
    assert!(read_values(&nested(100_000)).is_err());
}

#[test]
fn script_tag_must_start_with_a_name() {
    assert!(matches!(
        ScriptTag::parse(&[0x05]),
        Err(MediaError::Malformed { .. })
    ));
    assert!(matches!(
        ScriptTag::parse(&[]),
        Err(MediaError::Malformed { .. })
    ));
}

#[test]
fn read_value_prefix_reports_its_length() {
    let (value, used) = read_value_prefix(&[0x01, 0x00, 0xFF]).unwrap();
    assert_eq!((value, used), (Amf0Value::Boolean(false), 2));
}

#[test]
fn long_strings_are_written_as_such() {
    let long = "x".repeat(70_000);
    let mut data = Vec::new();
    amf0::write_string(&long, &mut data);
    assert_eq!(&data[..5], &[0x0C, 0x00, 0x01, 0x11, 0x70]);
    assert_eq!(read_values(&data).unwrap(), vec![Amf0Value::String(long)]);
}

fn amf0_value() -> impl Strategy<Value = Amf0Value> {
    let leaf = prop_oneof![
        (-1e12f64..1e12).prop_map(Amf0Value::Number),
        any::<bool>().prop_map(Amf0Value::Boolean),
        "[a-zA-Z0-9 é]{0,12}".prop_map(Amf0Value::String),
        Just(Amf0Value::Null),
        Just(Amf0Value::Undefined),
        any::<u16>().prop_map(Amf0Value::Reference),
        (-1e12f64..1e12).prop_map(Amf0Value::Date),
        Just(Amf0Value::Unsupported),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let props = prop::collection::vec(("[a-z]{1,8}", inner.clone()), 0..6);
        prop_oneof![
            props.clone().prop_map(Amf0Value::Object),
            props.prop_map(Amf0Value::EcmaArray),
            prop::collection::vec(inner, 0..6).prop_map(Amf0Value::StrictArray),
        ]
    })
}

proptest! {
    #[test]
    fn amf0_round_trips(values in prop::collection::vec(amf0_value(), 0..4)) {
        let mut data = Vec::new();
        values.iter().for_each(|v| v.write(&mut data));
        prop_assert_eq!(read_values(&data).unwrap(), values);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = read_values(&data);
        let _ = ScriptTag::parse(&data).map(|s| s.metadata().cloned());
    }
}
