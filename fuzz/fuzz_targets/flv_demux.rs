//! FLV demuxing fed in two chunks, then every tag through the payload
//! parsers and the conversion to frames.
#![no_main]

use avrs_media::flv::{FlvDemuxer, tag_to_media};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| *b as usize % (data.len() + 1));
    let mut demuxer = FlvDemuxer::new(64 * 1024);
    demuxer.push(&data[..split]);
    demuxer.push(&data[split..]);
    while let Ok(Some(tag)) = demuxer.next_tag() {
        let _ = tag_to_media(&tag);
    }
});
