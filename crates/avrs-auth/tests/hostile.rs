//! Hostile inputs to this layer and the AVRS return code each must get.
//! One table: tokens, certificates, TOTP codes, revocation lines.

use avrs_auth::cert::MemberCertificate;
use avrs_auth::revocation::{Revocations, RevokedKind};
use avrs_auth::totp::Totp;
use avrs_auth::{AuthError, Claims, Operation, TokenKeys, TokenRole};
use avrs_crypto::{Algorithm, SigningKey};
use avrs_proto::avrs::{RetCode, Roles};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use std::collections::BTreeMap;

const NOW: u64 = 1_700_000_000;

fn keys() -> TokenKeys {
    let key = SigningKey::from_seed(Algorithm::Ed25519, &[1; 32]).unwrap();
    TokenKeys {
        ed25519_public: Some(key.public_key().as_bytes().to_vec()),
        ed25519_signer: Some(key),
        ..TokenKeys::default()
    }
}

fn claims() -> Claims {
    Claims {
        iss: None,
        aud: None,
        sub: "mallory".into(),
        role: TokenRole::Viewer,
        content: "live/a".into(),
        exp: NOW + 600,
        nbf: None,
        iat: NOW,
        jti: "j".into(),
        attrs: BTreeMap::new(),
    }
}

fn signed(edit: impl FnOnce(&mut Claims)) -> String {
    let mut c = claims();
    edit(&mut c);
    keys().issue(&c).unwrap()
}

/// A token with any header and payload JSON, signed correctly (EdDSA), so
/// only the content is hostile.
fn raw(header: &str, payload: &str) -> String {
    let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let key = SigningKey::from_seed(Algorithm::Ed25519, &[1; 32]).unwrap();
    format!(
        "{input}.{}",
        B64.encode(key.sign_raw(input.as_bytes()).unwrap())
    )
}

fn token_code(token: &str, op: Operation, content: &str) -> RetCode {
    let mut revoked = Revocations::default();
    revoked.insert(RevokedKind::Jti, "revoked-jti").unwrap();
    let result = keys().verify(token, NOW).and_then(|c| {
        if revoked.contains(RevokedKind::Jti, &c.jti) {
            return Err(AuthError::Revoked(c.jti));
        }
        c.permits(op, content)
    });
    result.map_or_else(|e| e.retcode(), |()| RetCode::Success)
}

#[test]
fn hostile_tokens_get_their_return_codes() {
    use Operation::{AdminRevoke as Admin, SessionContentAddIn as In, SessionContentAddOut as Out};
    use RetCode::*;
    let good = signed(|_| {});
    let mut flipped = good.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let header = r#"{"alg":"EdDSA","typ":"JWT"}"#;
    let hs_forged = {
        let input = format!(
            "{}.{}",
            B64.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
            B64.encode(serde_json::to_vec(&claims()).unwrap())
        );
        format!("{input}.{}", B64.encode([0u8; 32]))
    };
    let cases: Vec<(&str, String, Operation, &str, RetCode)> = vec![
        ("valid viewer plays", good.clone(), Out, "live/a", Success),
        (
            "viewer publishes",
            good.clone(),
            In,
            "live/a",
            MemberSecurityIssue,
        ),
        (
            "viewer admin",
            good.clone(),
            Admin,
            "live/a",
            MemberSecurityIssue,
        ),
        (
            "other content",
            good.clone(),
            Out,
            "live/b",
            SessionContentIdWrong,
        ),
        (
            "content prefix trick",
            good.clone(),
            Out,
            "live/a/../b",
            SessionContentIdWrong,
        ),
        (
            "content longer name",
            good.clone(),
            Out,
            "live/ab",
            SessionContentIdWrong,
        ),
        (
            "expired",
            signed(|c| c.exp = NOW - 3600),
            Out,
            "live/a",
            MemberSecurityIssue,
        ),
        (
            "nbf future",
            signed(|c| c.nbf = Some(NOW + 300)),
            Out,
            "live/a",
            MemberSecurityIssue,
        ),
        (
            "revoked jti",
            signed(|c| c.jti = "revoked-jti".into()),
            Out,
            "live/a",
            MemberSecurityIssue,
        ),
        ("flipped signature", flipped, Out, "live/a", SignIncorrect),
        ("hs256 forged", hs_forged, Out, "live/a", SignIncorrect),
        ("empty", String::new(), Out, "live/a", MemberSecurityIssue),
        ("one part", "abc".into(), Out, "live/a", ArgIncorrect),
        ("two parts", "abc.def".into(), Out, "live/a", ArgIncorrect),
        (
            "four parts",
            format!("{good}.x"),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        ("dots only", "..".into(), Out, "live/a", ArgIncorrect),
        (
            "not base64",
            "!!!.!!!.!!!".into(),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        ("oversized", "a".repeat(9000), Out, "live/a", ArgIncorrect),
        (
            "oversized valid shape",
            format!("{good}{}", "A".repeat(9000)),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        ("nul bytes", "\0.\0.\0".into(), Out, "live/a", ArgIncorrect),
        (
            "alg none",
            format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), B64.encode("{}")),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "alg RS256",
            raw(r#"{"alg":"RS256"}"#, "{}"),
            Out,
            "live/a",
            SignIncorrect,
        ),
        (
            "alg lowercase",
            raw(r#"{"alg":"eddsa"}"#, "{}"),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "header not json",
            raw("not json", "{}"),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        ("header array", raw("[]", "{}"), Out, "live/a", ArgIncorrect),
        (
            "payload not json",
            raw(header, "nope"),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "payload empty object",
            raw(header, "{}"),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "role unknown",
            raw(
                header,
                r#"{"sub":"m","role":"root","content":"*","exp":1800000000,"iat":1,"jti":"j"}"#,
            ),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "exp string",
            raw(
                header,
                r#"{"sub":"m","role":"host","content":"*","exp":"never","iat":1,"jti":"j"}"#,
            ),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "exp negative",
            raw(
                header,
                r#"{"sub":"m","role":"host","content":"*","exp":-1,"iat":1,"jti":"j"}"#,
            ),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "exp huge",
            raw(
                header,
                r#"{"sub":"m","role":"host","content":"*","exp":1e400,"iat":1,"jti":"j"}"#,
            ),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "content bad pattern",
            raw(
                header,
                r#"{"sub":"m","role":"host","content":"li*e","exp":1800000000,"iat":1,"jti":"j"}"#,
            ),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "empty jti",
            raw(
                header,
                r#"{"sub":"m","role":"host","content":"*","exp":1800000000,"iat":1,"jti":""}"#,
            ),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "empty sub",
            raw(
                header,
                r#"{"sub":"","role":"host","content":"*","exp":1800000000,"iat":1,"jti":"j"}"#,
            ),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "long sub",
            raw(
                header,
                &format!(
                    r#"{{"sub":"{}","role":"host","content":"*","exp":1800000000,"iat":1,"jti":"j"}}"#,
                    "s".repeat(300)
                ),
            ),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "attrs not strings",
            raw(
                header,
                r#"{"sub":"m","role":"host","content":"*","exp":1800000000,"iat":1,"jti":"j","attrs":{"a":1}}"#,
            ),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "nbf after exp",
            raw(
                header,
                r#"{"sub":"m","role":"host","content":"*","exp":1800000000,"nbf":1900000000,"iat":1,"jti":"j"}"#,
            ),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "aud array",
            raw(
                header,
                r#"{"sub":"m","role":"host","content":"*","exp":1800000000,"iat":1,"jti":"j","aud":["x"]}"#,
            ),
            Out,
            "live/a",
            ArgIncorrect,
        ),
        (
            "well-formed host",
            raw(
                header,
                r#"{"sub":"m","role":"host","content":"*","exp":1800000000,"iat":1,"jti":"j"}"#,
            ),
            Admin,
            "x",
            Success,
        ),
    ];
    assert!(cases.len() >= 35);
    for (name, token, op, content, expected) in cases {
        assert_eq!(token_code(&token, op, content), expected, "case: {name}");
    }
}

#[test]
fn hostile_certificates_totp_and_lists_are_refused() {
    let ca = SigningKey::from_seed(Algorithm::Ed25519, &[1; 32]).unwrap();
    let member = SigningKey::from_seed(Algorithm::Ed25519, &[2; 32]).unwrap();
    let cert = MemberCertificate::issue(
        &ca,
        member.public_key(),
        Roles::SERVER,
        BTreeMap::new(),
        NOW - 1,
        NOW + 10,
    )
    .unwrap();
    let bytes = cert.to_bytes();
    let none = Revocations::default();
    let code = |b: &[u8]| -> RetCode {
        MemberCertificate::from_bytes(b)
            .and_then(|c| c.verify(ca.public_key(), &none, NOW))
            .map_or_else(|e| AuthError::from(e).retcode(), |()| RetCode::Success)
    };
    let mut bad_magic = bytes.clone();
    bad_magic[0] = b'X';
    let mut bad_sig = bytes.clone();
    let end = bad_sig.len() - 1;
    bad_sig[end] ^= 1;
    let mut bad_count = bytes.clone();
    let at = 8 + 16 + 4 + 4 + 32 + 2 + 8 + 8 + 32;
    bad_count[at] = 0xff;
    let other = SigningKey::from_seed(Algorithm::Ed25519, &[3; 32]).unwrap();
    let alien = MemberCertificate::issue(
        &other,
        member.public_key(),
        Roles::SERVER,
        BTreeMap::new(),
        NOW - 1,
        NOW + 10,
    )
    .unwrap();
    let cases: Vec<(&str, Vec<u8>, RetCode)> = vec![
        ("valid", bytes.clone(), RetCode::Success),
        ("empty", vec![], RetCode::MemberInfoProblem),
        ("magic", bad_magic, RetCode::MemberInfoProblem),
        (
            "truncated",
            bytes[..bytes.len() - 1].to_vec(),
            RetCode::MemberInfoProblem,
        ),
        (
            "trailing byte",
            [bytes.clone(), vec![0]].concat(),
            RetCode::MemberInfoProblem,
        ),
        ("attribute count", bad_count, RetCode::MemberInfoProblem),
        ("signature flipped", bad_sig, RetCode::SignIncorrect),
        ("other authority", alien.to_bytes(), RetCode::SignAlien),
        ("huge", vec![0; 20_000], RetCode::MemberInfoProblem),
    ];
    for (name, input, expected) in cases {
        assert_eq!(code(&input), expected, "certificate case: {name}");
    }
    let expired = AuthError::from(cert.verify(ca.public_key(), &none, NOW + 10).unwrap_err());
    assert_eq!(expired.retcode(), RetCode::MemberSecurityIssue);

    let totp = Totp::new(&[9; 20]);
    for bad in ["", "1", "abcdef", "12345678", " 123456", "+12345"] {
        let err = totp.check(bad, NOW).unwrap_err();
        assert_eq!(err.retcode(), RetCode::MemberSecurityIssue, "totp {bad:?}");
    }
    for bad in [
        "jti",
        "user x",
        "jti a b",
        &format!("sub {}", "x".repeat(300)),
    ] {
        assert!(Revocations::parse(bad, "r").is_err(), "list {bad:?}");
    }
}
