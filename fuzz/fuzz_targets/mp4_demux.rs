//! Whole-file import through `avrs_media::demux::demux`; the seeds and
//! corpus start with mp4 files, so most inputs reach the mp4 demuxer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = avrs_media::demux::demux(data);
});
