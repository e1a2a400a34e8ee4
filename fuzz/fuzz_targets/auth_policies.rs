//! avrs-auth: `avrs_auth::fuzzing::fuzz_policies` must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    avrs_auth::fuzzing::fuzz_policies(data);
});
