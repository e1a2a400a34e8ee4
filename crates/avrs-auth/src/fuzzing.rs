//! Entry points for fuzz targets: each takes arbitrary bytes and must
//! never panic.

use crate::cert::MemberCertificate;
use crate::token::TokenKeys;

/// Token verification with both kinds of key configured.
pub fn fuzz_token(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = avrs_crypto::SigningKey::from_seed(avrs_crypto::Algorithm::Ed25519, &[1; 32]);
    let Ok(key) = key else { return };
    let keys = TokenKeys {
        ed25519_public: Some(key.public_key().as_bytes().to_vec()),
        hs256_secret: Some(zeroize::Zeroizing::new(vec![7; 32])),
        ..TokenKeys::default()
    };
    let _ = keys.verify(text, 1_700_000_000);
}

/// Certificate decoding, binary and armoured.
pub fn fuzz_certificate(data: &[u8]) {
    let _ = MemberCertificate::from_bytes(data);
    let _ = MemberCertificate::from_armor(data);
}

/// Revocation list and policy-free config text.
pub fn fuzz_revocations(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::revocation::Revocations::parse(text, "fuzz");
    }
}

/// Policies as the admin API (a JSON object) and `policy_file` give them.
pub fn fuzz_policies(data: &[u8]) {
    if let Ok(entries) = serde_json::from_slice::<crate::policy_store::PolicyEntries>(data) {
        let _ = crate::policy_store::rule_from_entries("fuzz", &entries, "fuzz");
    }
    let _ = crate::policy_store::parse(data, "fuzz");
}
