//! Codec configuration parsers: AVCDecoderConfigurationRecord, SPS,
//! AudioSpecificConfig, ADTS headers, Annex-B and AVCC NAL walking.
#![no_main]

use avrs_media::codec::{self, nal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = codec::video_config_from_avcc(data);
    let _ = codec::parse_sps(data);
    let _ = codec::audio_config_from_asc(data);
    let _ = codec::AdtsHeader::parse(data);
    let mut avcc = Vec::new();
    if nal::annexb_to_avcc(data, &mut avcc).is_ok() {
        // What we convert must convert back to the same NAL units.
        let mut back = Vec::new();
        nal::avcc_to_annexb(&avcc, 4, &mut back).expect("our own AVCC output parses");
        let mut again = Vec::new();
        nal::annexb_to_avcc(&back, &mut again).expect("our own Annex-B output parses");
        assert_eq!(avcc, again);
    }
    let mut out = Vec::new();
    let _ = nal::avcc_to_annexb(data, 4, &mut out);
});
