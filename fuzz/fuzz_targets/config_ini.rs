//! The config reader on arbitrary bytes: it never panics, and whatever it
//! accepts writes out (`to_ini`) and reads back to the same value.
//! Mirrored by `fuzz_body` in crates/avrs-config/src/tests/round_trip.rs.
#![no_main]

use avrs_config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = Config::from_bytes_named(data, "fuzz.ini") {
        let text = config.to_ini();
        let again = Config::from_str_named(&text, "fuzz.ini").expect("to_ini output reads back");
        assert_eq!(again, config);
    }
});
