//! AVCDecoderConfigurationRecord parsing and building, against records
//! written by ffmpeg/libx264.

use avrs_media::MediaError;
use avrs_media::codec::{
    AvcDecoderConfig, HighProfileExtension, video_config_from_avcc,
    video_config_from_parameter_sets,
};

/// `ffmpeg -f lavfi -i testsrc2=size=1280x720:rate=30 -c:v libx264 out.flv`:
/// High 3.1, one SPS, one PPS, and the High-profile extension
/// (4:2:0, 8-bit, no SPS extensions).
const AVCC_720P_HIGH: &[u8] = &[
    0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50,
    0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83,
    0x19, 0x60, 0x01, 0x00, 0x04, 0x68, 0xef, 0xbc, 0xb0, 0xfd, 0xf8, 0xf8, 0x00,
];
const SPS_720P: &[u8] = AVCC_720P_HIGH.split_at(34).0.split_at(8).1;
const PPS_720P: &[u8] = AVCC_720P_HIGH.split_at(41).0.split_at(37).1;

/// 1920x1080 Constrained Baseline (`-preset ultrafast`): the SPS crops
/// 1088 coded lines to 1080; no extension.
const AVCC_1080P_BASELINE: &[u8] = &[
    0x01, 0x42, 0xc0, 0x28, 0xff, 0xe1, 0x00, 0x19, 0x67, 0x42, 0xc0, 0x28, 0xda, 0x01, 0xe0, 0x08,
    0x9f, 0x97, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x83,
    0x2a, 0x01, 0x00, 0x04, 0x68, 0xce, 0x0f, 0xc8,
];

#[test]
fn parses_the_720p_high_record() {
    let record = AvcDecoderConfig::parse(AVCC_720P_HIGH).unwrap();
    assert_eq!(record.profile_indication, 100);
    assert_eq!(record.profile_compatibility, 0);
    assert_eq!(record.level_indication, 31);
    assert_eq!(record.nal_length_size, 4);
    assert_eq!(record.sps, vec![SPS_720P.to_vec()]);
    assert_eq!(record.pps, vec![PPS_720P.to_vec()]);
    assert_eq!(
        record.high_profile,
        Some(HighProfileExtension {
            chroma_format_idc: 1,
            bit_depth_luma: 8,
            bit_depth_chroma: 8,
            sps_ext: vec![],
        })
    );
    assert_eq!(record.codec_string(), "avc1.64001F");
}

#[test]
fn video_config_from_the_720p_record() {
    let config = video_config_from_avcc(AVCC_720P_HIGH).unwrap();
    assert_eq!(config.codec, "avc1.64001F");
    assert_eq!((config.width, config.height), (1280, 720));
    assert_eq!(config.nal_length_size, 4);
    assert_eq!(&config.avcc[..], AVCC_720P_HIGH);
}

#[test]
fn cropped_baseline_record() {
    let config = video_config_from_avcc(AVCC_1080P_BASELINE).unwrap();
    assert_eq!((config.width, config.height), (1920, 1080));
    assert_eq!(config.codec, "avc1.42C028");
    let record = AvcDecoderConfig::parse(AVCC_1080P_BASELINE).unwrap();
    assert_eq!(record.high_profile, None);
}

#[test]
fn records_serialise_to_the_same_bytes() {
    for raw in [AVCC_720P_HIGH, AVCC_1080P_BASELINE] {
        let record = AvcDecoderConfig::parse(raw).unwrap();
        assert_eq!(record.to_bytes().unwrap(), raw);
    }
}

#[test]
fn building_from_parameter_sets_matches_ffmpeg() {
    let record = AvcDecoderConfig::from_parameter_sets(&[SPS_720P], &[PPS_720P]).unwrap();
    assert_eq!(record.to_bytes().unwrap(), AVCC_720P_HIGH);
    let config = video_config_from_parameter_sets(&[SPS_720P], &[PPS_720P]).unwrap();
    assert_eq!(config, video_config_from_avcc(AVCC_720P_HIGH).unwrap());
}

#[test]
fn building_from_annexb_picks_sps_and_pps() {
    let mut annexb = vec![0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1];
    annexb.extend_from_slice(SPS_720P);
    annexb.extend_from_slice(&[0, 0, 1]);
    annexb.extend_from_slice(PPS_720P);
    annexb.extend_from_slice(&[0, 0, 1, 0x65, 0x88, 0x84]);
    let record = AvcDecoderConfig::from_annexb(&annexb).unwrap();
    assert_eq!(record.to_bytes().unwrap(), AVCC_720P_HIGH);
    assert_eq!(
        record.parameter_sets_annexb(),
        [&[0, 0, 0, 1][..], SPS_720P, &[0, 0, 0, 1], PPS_720P].concat()
    );
}

#[test]
fn annexb_without_parameter_sets_is_missing_config() {
    assert!(matches!(
        AvcDecoderConfig::from_annexb(&[0, 0, 1, 0x65, 0x88]),
        Err(MediaError::MissingConfig { .. })
    ));
    assert!(matches!(
        AvcDecoderConfig::from_parameter_sets(&[], &[PPS_720P]),
        Err(MediaError::MissingConfig { .. })
    ));
}

#[test]
fn parameter_sets_of_the_wrong_type_or_count_are_refused() {
    assert!(matches!(
        AvcDecoderConfig::from_parameter_sets(&[PPS_720P], &[PPS_720P]),
        Err(MediaError::Malformed { .. })
    ));
    let many = vec![SPS_720P; 32];
    assert!(matches!(
        AvcDecoderConfig::from_parameter_sets(&many, &[PPS_720P]),
        Err(MediaError::TooLarge {
            size: 32,
            max: 31,
            ..
        })
    ));
    let huge = [&[0x68][..], &vec![0xAA; 70_000]].concat();
    assert!(matches!(
        AvcDecoderConfig::from_parameter_sets(&[SPS_720P], &[&huge]),
        Err(MediaError::TooLarge { .. })
    ));
}

#[test]
fn two_byte_lengths_survive_a_round_trip() {
    let mut raw = AVCC_1080P_BASELINE.to_vec();
    raw[4] = 0xFD;
    let record = AvcDecoderConfig::parse(&raw).unwrap();
    assert_eq!(record.nal_length_size, 2);
    assert_eq!(record.to_bytes().unwrap(), raw);
}

#[test]
fn wrong_version_is_unsupported() {
    let mut raw = AVCC_720P_HIGH.to_vec();
    raw[0] = 0;
    assert!(matches!(
        AvcDecoderConfig::parse(&raw),
        Err(MediaError::Unsupported { .. })
    ));
}

#[test]
fn three_byte_lengths_are_malformed() {
    let mut raw = AVCC_720P_HIGH.to_vec();
    raw[4] = 0xFE;
    let err = AvcDecoderConfig::parse(&raw).unwrap_err();
    assert!(err.to_string().contains("lengthSizeMinusOne"), "{err}");
}

#[test]
fn every_cut_before_the_pps_ends_is_truncated() {
    for len in 0..41 {
        let result = AvcDecoderConfig::parse(&AVCC_720P_HIGH[..len]);
        assert!(
            matches!(result, Err(MediaError::Truncated { .. })),
            "cut at {len}: {result:?}"
        );
    }
}

#[test]
fn a_cut_high_profile_extension_is_tolerated() {
    for len in 41..AVCC_720P_HIGH.len() {
        let record = AvcDecoderConfig::parse(&AVCC_720P_HIGH[..len]).unwrap();
        assert_eq!(record.high_profile, None, "cut at {len}");
    }
}

#[test]
fn records_without_sps_or_pps_are_malformed() {
    let no_sps = [1, 0x64, 0, 0x1F, 0xFF, 0xE0, 0x01, 0x00, 0x01, 0x68];
    assert!(matches!(
        AvcDecoderConfig::parse(&no_sps),
        Err(MediaError::Malformed { .. })
    ));
    let no_pps = [&AVCC_720P_HIGH[..34], &[0]].concat();
    assert!(matches!(
        AvcDecoderConfig::parse(&no_pps),
        Err(MediaError::Malformed { .. })
    ));
}

#[test]
fn a_pps_in_the_sps_list_is_malformed() {
    let mut raw = AVCC_720P_HIGH.to_vec();
    raw[8] = 0x68;
    let err = AvcDecoderConfig::parse(&raw).unwrap_err();
    assert!(err.to_string().contains("NAL type"), "{err}");
}

#[test]
fn an_unparsable_sps_fails_the_video_config_only() {
    // The record's framing is fine, but the SPS is cut short.
    let mut raw = vec![1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0x00, 0x05];
    raw.extend_from_slice(&SPS_720P[..5]);
    raw.extend_from_slice(&[1, 0x00, 0x04]);
    raw.extend_from_slice(PPS_720P);
    assert!(AvcDecoderConfig::parse(&raw).is_ok());
    assert!(matches!(
        video_config_from_avcc(&raw),
        Err(MediaError::Malformed { what: "SPS", .. })
    ));
}

#[test]
fn serialising_checks_the_length_size() {
    let mut record = AvcDecoderConfig::parse(AVCC_720P_HIGH).unwrap();
    record.nal_length_size = 3;
    assert!(matches!(
        record.to_bytes(),
        Err(MediaError::Malformed { .. })
    ));
}
