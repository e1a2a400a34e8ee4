//! `dap_sign_t` decoding on arbitrary bytes: what decodes re-encodes to the
//! same bytes, and verifying the rest of the input never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    avrs_crypto::fuzzing::sign_envelope(data);
});
