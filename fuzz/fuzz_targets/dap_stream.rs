//! DAP stream reader on arbitrary bytes (body in `avrs_proto::fuzzing`, so
//! the unit tests run the same code).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| avrs_proto::fuzzing::dap_stream(data));
