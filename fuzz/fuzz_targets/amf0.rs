//! AMF0 script data: values and whole script tags.
#![no_main]

use avrs_media::flv::{ScriptTag, amf0};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = amf0::read_values(data);
    let _ = ScriptTag::parse(data);
});
