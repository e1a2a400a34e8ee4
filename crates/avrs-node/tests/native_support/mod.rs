//! What the native tests share: the media fixture.

use avrs_core::live::TrackConfigs;
use avrs_media::flv::{FlvDemuxer, TagMedia, tag_to_media};
use avrs_media::{MediaFrame, TrackKind};

const FIXTURE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../avrs-media/tests/data/testsrc2-720p30-aac.flv"
));

/// The fixture (1 s of 720p30 H.264 with B-frames, GOP 15, and AAC) from
/// its first keyframe, repeated `seconds` times one second apart.
pub fn fixture(seconds: i64) -> (TrackConfigs, Vec<MediaFrame>) {
    let mut demuxer = FlvDemuxer::default();
    demuxer.push(FIXTURE);
    let (mut configs, mut frames) = (TrackConfigs::default(), Vec::new());
    while let Some(tag) = demuxer.next_tag().unwrap() {
        match tag_to_media(&tag).unwrap() {
            TagMedia::VideoConfig(v) => configs.video = Some(v),
            TagMedia::AudioConfig(a) => configs.audio = Some(a),
            TagMedia::Frame(f) => frames.push(f),
            _ => {}
        }
    }
    let first_key = frames
        .iter()
        .position(|f| f.track == TrackKind::Video && f.keyframe)
        .unwrap();
    frames.drain(..first_key);
    let second = 90_000;
    let looped = (0..seconds)
        .flat_map(|n| {
            frames.iter().filter(|f| f.dts < second).map(move |f| {
                let mut f = f.clone();
                f.dts += n * second;
                f.pts += n * second;
                f
            })
        })
        .collect();
    (configs, looped)
}
