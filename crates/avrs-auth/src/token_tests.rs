use super::*;

pub(crate) const NOW: u64 = 1_700_000_000;

pub(crate) fn claims(role: TokenRole, content: &str) -> Claims {
    Claims {
        iss: None,
        aud: None,
        sub: "alice".into(),
        role,
        content: content.into(),
        exp: NOW + 600,
        nbf: None,
        iat: NOW,
        jti: "j1".into(),
        attrs: BTreeMap::new(),
    }
}

pub(crate) fn ed_keys(seed: u8) -> TokenKeys {
    let key = SigningKey::from_seed(KeyAlgorithm::Ed25519, &[seed; 32]).unwrap();
    TokenKeys {
        ed25519_public: Some(key.public_key().as_bytes().to_vec()),
        ed25519_signer: Some(key),
        ..TokenKeys::default()
    }
}

pub(crate) fn hs_keys(secret: &[u8]) -> TokenKeys {
    TokenKeys {
        hs256_secret: Some(Zeroizing::new(secret.to_vec())),
        ..TokenKeys::default()
    }
}

#[test]
fn eddsa_and_hs256_tokens_round_trip() {
    for keys in [ed_keys(1), hs_keys(&[7; 32])] {
        let c = claims(TokenRole::Publisher, "live/a");
        let token = keys.issue(&c).unwrap();
        assert!(is_url_safe(&token));
        assert_eq!(keys.verify(&token, NOW).unwrap(), c);
    }
}

#[test]
fn a_token_from_a_standard_library_verifies() {
    // A user's backend minting with jsonwebtoken (PKCS#8 v1 of the seed).
    let mut pkcs8 = hex::decode("302e020100300506032b657004220420").unwrap();
    pkcs8.extend_from_slice(&[3; 32]);
    let c = claims(TokenRole::Viewer, "live/*");
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &c,
        &EncodingKey::from_ed_der(&pkcs8),
    )
    .unwrap();
    assert_eq!(ed_keys(3).verify(&token, NOW).unwrap(), c);
}

#[test]
fn time_is_checked_with_leeway() {
    let keys = ed_keys(1);
    let token = keys.issue(&claims(TokenRole::Viewer, "live/a")).unwrap();
    assert!(keys.verify(&token, NOW + 600 + LEEWAY_SECS).is_ok());
    assert_eq!(
        keys.verify(&token, NOW + 700 + LEEWAY_SECS),
        Err(AuthError::Expired(100 + LEEWAY_SECS))
    );
    let mut c = claims(TokenRole::Viewer, "live/a");
    c.nbf = Some(NOW + 300);
    let token = keys.issue(&c).unwrap();
    assert_eq!(keys.verify(&token, NOW), Err(AuthError::NotYetValid(300)));
    assert!(keys.verify(&token, NOW + 300 - LEEWAY_SECS).is_ok());
}

#[test]
fn wrong_keys_and_algorithms_are_refused() {
    let token = ed_keys(1)
        .issue(&claims(TokenRole::Viewer, "live/a"))
        .unwrap();
    assert_eq!(ed_keys(2).verify(&token, NOW), Err(AuthError::BadSignature));
    // An EdDSA token at a node that only knows an HS256 secret.
    assert!(matches!(
        hs_keys(&[7; 32]).verify(&token, NOW),
        Err(AuthError::WrongAlgorithm(_))
    ));
    let hs = hs_keys(&[7; 32])
        .issue(&claims(TokenRole::Viewer, "live/a"))
        .unwrap();
    assert_eq!(
        hs_keys(&[8; 32]).verify(&hs, NOW),
        Err(AuthError::BadSignature)
    );
    assert!(matches!(
        ed_keys(1).verify(&hs, NOW),
        Err(AuthError::WrongAlgorithm(_))
    ));
}

#[test]
fn hs256_signed_with_the_public_key_is_not_accepted() {
    // Classic confusion: HMAC keyed with the (public) Ed25519 key.
    let ed = ed_keys(1);
    let public = ed.ed25519_public.clone().unwrap();
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(TokenRole::Host, "*"),
        &EncodingKey::from_secret(&public),
    )
    .unwrap();
    assert!(matches!(
        ed.verify(&forged, NOW),
        Err(AuthError::WrongAlgorithm(_))
    ));
    // Even with an HS256 secret configured too, the forged MAC fails.
    let both = TokenKeys {
        hs256_secret: Some(Zeroizing::new(vec![9; 32])),
        ..ed_keys(1)
    };
    assert_eq!(both.verify(&forged, NOW), Err(AuthError::BadSignature));
}

#[test]
fn unsigned_and_malformed_tokens_are_refused() {
    let keys = ed_keys(1);
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(TokenRole::Host, "*")).unwrap())
    );
    assert!(keys.verify(&none, NOW).is_err());
    for bad in ["a", "a.b", "a.b.c", "...", "eyJ.eyJ.x", "\u{0}"] {
        assert!(
            matches!(keys.verify(bad, NOW), Err(AuthError::Malformed(_))),
            "{bad:?}"
        );
    }
    let long = "a".repeat(MAX_TOKEN_LEN + 1);
    assert!(matches!(
        keys.verify(&long, NOW),
        Err(AuthError::Malformed(m)) if m.contains("longer than")
    ));
    assert!(matches!(keys.verify("", NOW), Err(AuthError::Missing(_))));
}

#[test]
fn role_and_content_decide_what_a_token_permits() {
    let viewer = claims(TokenRole::Viewer, "live/a");
    assert!(
        viewer
            .permits(Operation::SessionContentAddOut, "live/a")
            .is_ok()
    );
    assert!(matches!(
        viewer.permits(Operation::SessionContentAddIn, "live/a"),
        Err(AuthError::Forbidden { .. })
    ));
    assert!(matches!(
        viewer.permits(Operation::SessionContentAddOut, "live/b"),
        Err(AuthError::WrongContent { .. })
    ));
    let publisher = claims(TokenRole::Publisher, "live/*");
    assert!(
        publisher
            .permits(Operation::SessionContentAddIn, "live/x")
            .is_ok()
    );
    assert!(publisher.permits(Operation::AdminRevoke, "live/x").is_err());
    assert!(
        claims(TokenRole::Operator, "*")
            .permits(Operation::AdminRevoke, "x")
            .is_ok()
    );
}

#[test]
fn issuer_and_audience_must_match_when_configured() {
    let mut keys = ed_keys(1);
    keys.issuer = Some("avrs-a".into());
    let mut c = claims(TokenRole::Viewer, "live/a");
    let token = keys.issue(&c).unwrap();
    assert_eq!(
        keys.verify(&token, NOW),
        Err(AuthError::WrongIssuerOrAudience("issuer"))
    );
    c.iss = Some("avrs-a".into());
    let token = keys.issue(&c).unwrap();
    assert!(keys.verify(&token, NOW).is_ok());
    keys.audience = Some("viewers".into());
    assert_eq!(
        keys.verify(&token, NOW),
        Err(AuthError::WrongIssuerOrAudience("audience"))
    );
}

#[test]
fn bad_claims_are_refused_on_issue() {
    let keys = ed_keys(1);
    let mut c = claims(TokenRole::Viewer, "li*ve");
    assert!(keys.issue(&c).is_err());
    c.content = "live/a".into();
    c.jti.clear();
    assert!(keys.issue(&c).is_err());
    assert!(
        TokenKeys::default()
            .issue(&claims(TokenRole::Viewer, "a"))
            .is_err()
    );
}
