//! Private key file decoding on arbitrary bytes: what decodes re-encodes to
//! a file that decodes to the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    avrs_crypto::fuzzing::key_file(data);
});
