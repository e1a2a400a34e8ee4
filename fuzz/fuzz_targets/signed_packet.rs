//! The signed control packet check (both SIGN codes, with and without a
//! known key) on arbitrary bytes: never panics, a pass names its signer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    avrs_crypto::fuzzing::signed_packet(data);
});
