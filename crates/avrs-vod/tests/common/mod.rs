//! What the library tests share: the avrs-media FLV fixture (1 s of 720p30
//! H.264 + AAC, keyframes every 15 frames) and ways to stretch it.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use avrs_media::demux::{Demuxed, demux};
use avrs_vod::VodConfig;
use std::time::Duration;

pub const FIXTURE: &[u8] = include_bytes!("../../../avrs-media/tests/data/testsrc2-720p30-aac.flv");

/// Defaults with 1 s segments (one per loop of the fixture).
pub fn config() -> VodConfig {
    VodConfig {
        segment_target: Duration::from_secs(1),
        ..VodConfig::default()
    }
}

/// The fixture `loops` times in a row (each loop one second later).
pub fn looped(loops: i64) -> Demuxed {
    let mut demuxed = demux(FIXTURE).unwrap();
    let one: Vec<_> = demuxed
        .frames
        .iter()
        .filter(|f| f.dts < 90_000)
        .cloned()
        .collect();
    demuxed.frames = (0..loops)
        .flat_map(|n| {
            one.iter().map(move |f| {
                let mut f = f.clone();
                f.dts += n * 90_000;
                f.pts += n * 90_000;
                f
            })
        })
        .collect();
    demuxed.frames.sort_by_key(|f| f.dts);
    demuxed
}
