//! avrs-auth: certificate and certificate-chain decoding and chain
//! verification must never panic.
#![no_main]

use avrs_auth::cert::CertificateChain;
use avrs_auth::revocation::Revocations;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    avrs_auth::fuzzing::fuzz_certificate(data);
    let chains = [
        CertificateChain::from_bytes(data),
        CertificateChain::from_armor(data),
        CertificateChain::parse(data),
    ];
    for chain in chains.into_iter().flatten() {
        // Each certificate's own key as the authority, at the leaf's start:
        // a chain ending in its authority's certificate (as the seeds do)
        // verifies in full.
        let now = chain.leaf().not_before;
        for cert in chain.certificates() {
            let _ = chain.verify(&cert.public_key, &Revocations::default(), now);
        }
        let _ = CertificateChain::from_bytes(&chain.to_bytes());
        let _ = CertificateChain::from_armor(chain.to_armor().as_bytes());
    }
});
