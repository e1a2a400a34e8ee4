//! The LL-HLS rule checker and the blocking-reload query parser on any text.
#![no_main]

use avrs_media::hls::{check_media_playlist, inspect_media_playlist, parse_reload_query};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = check_media_playlist(&text);
    let _ = inspect_media_playlist(&text);
    let _ = parse_reload_query(&text);
});
