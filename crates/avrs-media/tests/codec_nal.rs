//! Annex-B ⇄ AVCC properties, and robustness of the H.264 parsers.

use avrs_media::codec::nal::{annexb_nal_units, annexb_to_avcc, avcc_nal_units, avcc_to_annexb};
use avrs_media::codec::{AvcDecoderConfig, parse_sps, video_config_from_avcc};
use proptest::prelude::*;

/// Applies emulation prevention, as an encoder does: no `00 00 0x` (x ≤ 3)
/// may appear inside a NAL unit.
fn escape(rbsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rbsp.len() + rbsp.len() / 2);
    let mut zeros = 0;
    for &byte in rbsp {
        if zeros >= 2 && byte <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(byte);
        zeros = if byte == 0 { zeros + 1 } else { 0 };
    }
    out
}

/// A well-formed NAL unit: a header with forbidden_zero_bit clear, an
/// escaped payload, and a last byte that is not zero (as the RBSP stop bit
/// guarantees).
fn nal_unit() -> impl Strategy<Value = Vec<u8>> {
    (1u8..0x80, prop::collection::vec(any::<u8>(), 0..300)).prop_map(|(header, payload)| {
        let mut unit = escape(&[&[header][..], &payload].concat());
        if unit.last() == Some(&0) {
            unit.push(0x80);
        }
        unit
    })
}

fn to_avcc(units: &[Vec<u8>], length_size: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for unit in units {
        let len = (unit.len() as u32).to_be_bytes();
        out.extend_from_slice(&len[4 - usize::from(length_size)..]);
        out.extend_from_slice(unit);
    }
    out
}

proptest! {
    #[test]
    fn avcc_to_annexb_and_back_is_identity(units in prop::collection::vec(nal_unit(), 0..8)) {
        let avcc = to_avcc(&units, 4);
        let mut annexb = Vec::new();
        avcc_to_annexb(&avcc, 4, &mut annexb).unwrap();
        let mut back = Vec::new();
        annexb_to_avcc(&annexb, &mut back).unwrap();
        prop_assert_eq!(back, avcc);
    }

    #[test]
    fn annexb_to_avcc_and_back_keeps_units(
        units in prop::collection::vec(nal_unit(), 1..8),
        long_codes in prop::collection::vec(any::<bool>(), 8),
    ) {
        let mut annexb = Vec::new();
        for (unit, long) in units.iter().zip(long_codes.iter().cycle()) {
            annexb.extend_from_slice(if *long { &[0, 0, 0, 1][..] } else { &[0, 0, 1] });
            annexb.extend_from_slice(unit);
        }
        let split: Vec<&[u8]> = annexb_nal_units(&annexb).unwrap().collect();
        prop_assert_eq!(&split, &units.iter().map(|u| &u[..]).collect::<Vec<_>>());
        let mut avcc = Vec::new();
        annexb_to_avcc(&annexb, &mut avcc).unwrap();
        let mut back = Vec::new();
        avcc_to_annexb(&avcc, 4, &mut back).unwrap();
        let resplit: Vec<&[u8]> = annexb_nal_units(&back).unwrap().collect();
        prop_assert_eq!(resplit, split);
    }

    #[test]
    fn short_length_prefixes_round_trip(
        units in prop::collection::vec(nal_unit(), 0..6),
        length_size in prop::sample::select(vec![2u8, 4]),
    ) {
        let avcc = to_avcc(&units, length_size);
        let parsed: Vec<&[u8]> = avcc_nal_units(&avcc, length_size)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(parsed, units.iter().map(|u| &u[..]).collect::<Vec<_>>());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(units) = annexb_nal_units(&data) {
            for unit in units {
                prop_assert!(!unit.is_empty());
            }
        }
        let mut out = Vec::new();
        let _ = annexb_to_avcc(&data, &mut out);
        for length_size in 1..=4 {
            let _ = avcc_nal_units(&data, length_size).map(|units| units.count());
            let _ = avcc_to_annexb(&data, length_size, &mut out);
        }
        let _ = parse_sps(&data);
        let _ = AvcDecoderConfig::from_annexb(&data);
        let _ = AvcDecoderConfig::parse(&data).map(|record| record.to_bytes());
        let _ = video_config_from_avcc(&data);
    }

    #[test]
    fn arbitrary_sps_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..64)) {
        let sps = [&[0x67, 0x64, 0x00, 0x1F][..], &body].concat();
        let _ = parse_sps(&sps);
        let record = [&[1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, sps.len() as u8][..], &sps,
                      &[1, 0, 1, 0x68]].concat();
        let _ = video_config_from_avcc(&record);
    }
}
