//! AudioSpecificConfig and ADTS: literal layouts, round trips, error paths.

use avrs_media::MediaError;
use avrs_media::codec::{
    AdtsHeader, AdtsWriter, AudioSpecificConfig, SbrExtension, audio_config_from_asc,
    audio_config_from_parts,
};
use proptest::prelude::*;

#[test]
fn aac_lc_44100_stereo() {
    let asc = AudioSpecificConfig::parse(&[0x12, 0x10]).unwrap();
    assert_eq!(asc, AudioSpecificConfig::new(2, 44100, 2));
    let config = audio_config_from_asc(&[0x12, 0x10]).unwrap();
    assert_eq!(config.codec, "mp4a.40.2");
    assert_eq!(
        (config.object_type, config.sample_rate, config.channels),
        (2, 44100, 2)
    );
    assert_eq!(&config.asc[..], &[0x12, 0x10]);
}

#[test]
fn ffmpeg_sync_extension_is_ignored() {
    // ffmpeg's AAC encoder appends a backward-compatible SBR sync extension
    // (0x2B7, object type 5, SBR absent).
    let asc = AudioSpecificConfig::parse(&[0x12, 0x10, 0x56, 0xE5, 0x00]).unwrap();
    assert_eq!(asc, AudioSpecificConfig::new(2, 44100, 2));
}

#[test]
fn aac_lc_48000_mono() {
    let config = audio_config_from_asc(&[0x11, 0x88]).unwrap();
    assert_eq!((config.sample_rate, config.channels), (48000, 1));
}

#[test]
fn explicit_he_aac() {
    // Object type 5, core 24 kHz stereo, SBR output 48 kHz, core AAC-LC.
    let raw = [0x2B, 0x11, 0x88, 0x00];
    let asc = AudioSpecificConfig::parse(&raw).unwrap();
    assert_eq!(asc.object_type, 5);
    assert_eq!(asc.sample_rate, 24000);
    assert_eq!(
        asc.extension,
        Some(SbrExtension {
            sample_rate: 48000,
            core_object_type: 2
        })
    );
    assert_eq!(asc.core_object_type(), 2);
    assert_eq!(asc.to_bytes().unwrap(), raw);
    assert_eq!(audio_config_from_asc(&raw).unwrap().codec, "mp4a.40.5");
}

#[test]
fn escaped_object_type() {
    // 31 escapes to 32 + 6 bits: 42 is USAC.
    let asc = AudioSpecificConfig::parse(&[0xF9, 0x46, 0x40]).unwrap();
    assert_eq!(
        (asc.object_type, asc.sample_rate, asc.channel_config),
        (42, 48000, 2)
    );
    assert_eq!(
        audio_config_from_asc(&[0xF9, 0x46, 0x40]).unwrap().codec,
        "mp4a.40.42"
    );
    // USAC has no GASpecificConfig, so we do not write it.
    assert!(matches!(
        asc.to_bytes(),
        Err(MediaError::Unsupported { .. })
    ));
}

#[test]
fn explicit_sampling_frequency() {
    let raw = [0x17, 0x80, 0x55, 0xF0, 0x08];
    let asc = AudioSpecificConfig::parse(&raw).unwrap();
    assert_eq!((asc.sample_rate, asc.channel_config), (44000, 1));
    assert_eq!(asc.to_bytes().unwrap(), raw);
}

#[test]
fn asc_error_paths() {
    let cases: &[(&[u8], &str)] = &[
        (&[], "truncated"),
        (&[0x12], "truncated"),
        (&[0x02, 0x10], "object type 0"),
        (&[0x16, 0x90], "sampling frequency index 13"),
        (
            &[0x17, 0x80, 0x00, 0x00, 0x08],
            "explicit sampling frequency 0",
        ),
        (&[0x12, 0x00], "channel configuration 0"),
        (&[0x12, 0x40], "channel configuration 8"),
        (&[0x2B, 0x11], "truncated"),
    ];
    for (raw, expected) in cases {
        let err = AudioSpecificConfig::parse(raw).unwrap_err();
        assert!(err.to_string().contains(expected), "{raw:02X?}: {err}");
    }
}

#[test]
fn writing_refuses_what_it_cannot_encode() {
    for object_type in [0, 31, 96] {
        let asc = AudioSpecificConfig::new(object_type, 44100, 2);
        assert!(matches!(
            asc.to_bytes(),
            Err(MediaError::Unsupported { .. })
        ));
    }
    let asc = AudioSpecificConfig::new(2, 1 << 24, 2);
    assert!(matches!(
        asc.to_bytes(),
        Err(MediaError::Unsupported { .. })
    ));
    let asc = AudioSpecificConfig::new(2, 44100, 0);
    assert!(matches!(
        asc.to_bytes(),
        Err(MediaError::Unsupported { .. })
    ));
}

#[test]
fn channel_configurations_map_to_counts() {
    for (config, channels) in [(1, 1), (2, 2), (6, 6), (7, 8), (11, 7), (13, 24)] {
        let built = audio_config_from_parts(2, 48000, config).unwrap();
        assert_eq!(built.channels, channels, "configuration {config}");
    }
}

#[test]
fn adts_header_literal_bytes() {
    let writer = AdtsWriter::new(&audio_config_from_asc(&[0x12, 0x10]).unwrap()).unwrap();
    let mut out = Vec::new();
    writer.write_header(100, &mut out).unwrap();
    // AAC-LC (profile 1), index 4, stereo, 107 bytes, VBR fullness.
    assert_eq!(out, [0xFF, 0xF1, 0x50, 0x80, 0x0D, 0x7F, 0xFC]);
    let header = AdtsHeader::parse(&out).unwrap();
    assert_eq!(
        header,
        AdtsHeader {
            object_type: 2,
            sampling_index: 4,
            channel_config: 2,
            frame_length: 107,
            has_crc: false,
            raw_data_blocks: 1,
        }
    );
    assert_eq!(header.payload_len(), 100);
    assert_eq!(header.sample_rate(), 44100);
    assert_eq!(header.to_audio_config().unwrap().asc[..], [0x12, 0x10]);
}

#[test]
fn adts_header_with_crc() {
    // protection_absent 0: two CRC bytes follow the fixed header.
    let raw = [0xFF, 0xF0, 0x4C, 0x80, 0x10, 0x1F, 0xFC, 0xAB, 0xCD];
    let header = AdtsHeader::parse(&raw).unwrap();
    assert!(header.has_crc);
    assert_eq!(header.header_len(), 9);
    assert_eq!((header.sampling_index, header.channel_config), (3, 2));
    assert_eq!(header.frame_length, 128);
    assert_eq!(header.payload_len(), 119);
    assert!(matches!(
        AdtsHeader::parse(&raw[..7]),
        Err(MediaError::Truncated { need: 9, .. })
    ));
}

#[test]
fn adts_error_paths() {
    let cases: &[(&[u8], &str)] = &[
        (&[0xFF, 0xF1, 0x50], "truncated"),
        (&[0xFF, 0xE1, 0x50, 0x80, 0x0D, 0x7F, 0xFC], "syncword"),
        (&[0xFF, 0xF3, 0x50, 0x80, 0x0D, 0x7F, 0xFC], "layer"),
        (
            &[0xFF, 0xF1, 0x74, 0x80, 0x0D, 0x7F, 0xFC],
            "sampling frequency index",
        ),
        (
            &[0xFF, 0xF1, 0x50, 0x80, 0x00, 0xDF, 0xFC],
            "shorter than the header",
        ),
    ];
    for (raw, expected) in cases {
        let err = AdtsHeader::parse(raw).unwrap_err();
        assert!(err.to_string().contains(expected), "{raw:02X?}: {err}");
    }
}

#[test]
fn adts_writer_limits() {
    let writer = AdtsWriter::new(&audio_config_from_asc(&[0x12, 0x10]).unwrap()).unwrap();
    let mut out = Vec::new();
    writer.write_header(8191 - 7, &mut out).unwrap();
    assert_eq!(AdtsHeader::parse(&out).unwrap().frame_length, 8191);
    assert!(matches!(
        writer.write_header(8191 - 6, &mut Vec::new()),
        Err(MediaError::TooLarge { .. })
    ));
    // USAC, explicit frequencies and channel configuration 11 have no ADTS form.
    for asc in [
        &[0xF9, 0x46, 0x40][..],
        &[0x17, 0x80, 0x55, 0xF0, 0x08],
        &[0x12, 0x58],
    ] {
        let config = audio_config_from_asc(asc).unwrap();
        assert!(
            matches!(
                AdtsWriter::new(&config),
                Err(MediaError::Unsupported { .. })
            ),
            "{asc:02X?}"
        );
    }
}

#[test]
fn he_aac_is_written_as_its_core() {
    let config = audio_config_from_asc(&[0x2B, 0x11, 0x88, 0x00]).unwrap();
    let mut out = Vec::new();
    AdtsWriter::new(&config)
        .unwrap()
        .write_header(10, &mut out)
        .unwrap();
    let header = AdtsHeader::parse(&out).unwrap();
    assert_eq!((header.object_type, header.sample_rate()), (2, 24000));
}

proptest! {
    #[test]
    fn asc_round_trips(
        object_type in prop::sample::select(vec![1u8, 2, 3, 4, 6, 7, 17, 19, 20, 23]),
        rate in prop_oneof![
            prop::sample::select(avrs_media::codec::SAMPLE_RATES.to_vec()),
            1u32..(1 << 24),
        ],
        channel_config in prop::sample::select(vec![1u8, 2, 3, 4, 5, 6, 7, 11, 12, 13, 14]),
    ) {
        let asc = AudioSpecificConfig::new(object_type, rate, channel_config);
        let bytes = asc.to_bytes().unwrap();
        prop_assert_eq!(AudioSpecificConfig::parse(&bytes).unwrap(), asc);
    }

    #[test]
    fn adts_round_trips(
        rate in prop::sample::select(avrs_media::codec::SAMPLE_RATES.to_vec()),
        object_type in 1u8..=4,
        channel_config in 1u8..=7,
        payload_len in 0usize..=8184,
    ) {
        let config = audio_config_from_parts(object_type, rate, channel_config).unwrap();
        let mut out = Vec::new();
        AdtsWriter::new(&config).unwrap().write_header(payload_len, &mut out).unwrap();
        let header = AdtsHeader::parse(&out).unwrap();
        prop_assert_eq!(header.payload_len(), payload_len);
        prop_assert_eq!(header.to_audio_config().unwrap(), config);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..16)) {
        if let Ok(asc) = AudioSpecificConfig::parse(&data) {
            let _ = asc.to_bytes();
            let _ = asc.channels();
        }
        let _ = audio_config_from_asc(&data);
        if let Ok(header) = AdtsHeader::parse(&data) {
            let _ = header.to_audio_config();
            prop_assert!(header.payload_len() < 8192);
        }
    }
}
