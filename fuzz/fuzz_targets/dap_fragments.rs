//! Fragment reassembly on arbitrary fragment plaintexts (body in
//! `avrs_proto::fuzzing`, so the unit tests run the same code).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| avrs_proto::fuzzing::dap_fragments(data));
