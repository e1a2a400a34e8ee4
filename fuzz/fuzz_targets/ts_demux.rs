//! Whole-file import through `avrs_media::demux::demux`; the seeds and
//! corpus start with ts files, so most inputs reach the ts demuxer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = avrs_media::demux::demux(data);
});
