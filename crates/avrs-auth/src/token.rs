//! Access tokens: JWT (RFC 7519) signed EdDSA (Ed25519) or HS256.
//!
//! Verification goes through `jsonwebtoken` on aws-lc-rs with exactly one
//! algorithm allowed per key, so a token cannot pick its own algorithm
//! (no HS256-with-the-public-key confusion). Time is checked here against
//! the caller's `now`, not the system clock, so tests are exact.
//! Ed25519 tokens are *signed* with avrs-crypto's key (the key file holds a
//! seed that avrs does not hand out in PKCS#8), which produces standard JWS
//! any library verifies.

use crate::content;
use crate::error::AuthError;
use crate::rbac::{self, Operation};
use avrs_crypto::{Algorithm as KeyAlgorithm, SigningKey};
use avrs_proto::avrs::Roles;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// Longest token read; longer input is refused before any parsing.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Clock difference tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;
/// Caps on claim sizes.
pub const MAX_ID_LEN: usize = 256;
pub const MAX_ATTRS: usize = 32;
/// Shortest HS256 secret accepted (RFC 7518 §3.2: at least the hash size).
pub const MIN_HS256_SECRET: usize = 32;

/// What a token lets its bearer be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenRole {
    Viewer,
    Publisher,
    Operator,
    Host,
    /// A serving node's credential (cluster control over HTTP: content).
    Server,
}

impl TokenRole {
    pub fn name(self) -> &'static str {
        match self {
            TokenRole::Viewer => "viewer",
            TokenRole::Publisher => "publisher",
            TokenRole::Operator => "operator",
            TokenRole::Host => "host",
            TokenRole::Server => "server",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Viewer,
            Self::Publisher,
            Self::Operator,
            Self::Host,
            Self::Server,
        ]
        .into_iter()
        .find(|r| r.name() == text)
    }

    /// The RBAC table's answer for this role: viewer is a client, publisher
    /// a client that may also send content, operator, host and server are
    /// those member roles.
    pub fn allows(self, op: Operation) -> bool {
        match self {
            TokenRole::Viewer => rbac::allowed(Roles::CLIENT, op),
            TokenRole::Publisher => {
                rbac::allowed(Roles::CLIENT, op) || rbac::PUBLISHER_EXTRA.contains(&op)
            }
            TokenRole::Operator => rbac::allowed(Roles::OPERATOR, op),
            TokenRole::Host => rbac::allowed(Roles::HOST, op),
            TokenRole::Server => rbac::allowed(Roles::SERVER, op),
        }
    }
}

/// The claims avrs reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    pub sub: String,
    pub role: TokenRole,
    /// A content name or pattern (`live/cam1`, `live/*`, `*`).
    pub content: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    pub iat: u64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
}

/// The keys a node signs and verifies tokens with.
#[derive(Default)]
pub struct TokenKeys {
    /// Ed25519 private key: signs and verifies.
    pub ed25519_signer: Option<SigningKey>,
    /// Ed25519 public key (raw 32 bytes): verifies (from the signer, or
    /// configured alone for tokens a backend signs).
    pub ed25519_public: Option<Vec<u8>>,
    pub hs256_secret: Option<Zeroizing<Vec<u8>>>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("ed25519_signer", &self.ed25519_signer)
            .field(
                "ed25519_public",
                &self.ed25519_public.as_ref().map(hex::encode),
            )
            .field("hs256_secret", &self.hs256_secret.as_ref().map(|_| "<set>"))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl TokenKeys {
    /// Signs `claims`: EdDSA when an Ed25519 key is configured, else HS256.
    pub fn issue(&self, claims: &Claims) -> Result<String, AuthError> {
        check_claims(claims)?;
        if let Some(key) = &self.ed25519_signer {
            return sign_eddsa(key, claims);
        }
        if let Some(secret) = &self.hs256_secret {
            return jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                claims,
                &EncodingKey::from_secret(secret),
            )
            .map_err(|e| AuthError::Config(format!("cannot sign the token: {e}")));
        }
        Err(AuthError::Config(
            "no token signing key: set token_ed25519_key_file or token_hs256_secret_file in [auth]"
                .into(),
        ))
    }

    /// Checks signature, algorithm, time, issuer and audience, and the
    /// shape of every claim. Role and content are the caller's business
    /// ([`Claims::permits`]).
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Malformed(format!(
                "longer than {MAX_TOKEN_LEN} bytes"
            )));
        }
        if token.is_empty() {
            return Err(AuthError::Missing("empty token".into()));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| malformed(&e))?;
        let key = match header.alg {
            Algorithm::EdDSA => match &self.ed25519_public {
                Some(public) => DecodingKey::from_ed_der(public),
                None => return Err(AuthError::WrongAlgorithm("EdDSA".into())),
            },
            Algorithm::HS256 => match &self.hs256_secret {
                Some(secret) => DecodingKey::from_secret(secret),
                None => return Err(AuthError::WrongAlgorithm("HS256".into())),
            },
            other => return Err(AuthError::WrongAlgorithm(format!("{other:?}"))),
        };
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e
            .kind()
        {
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                AuthError::WrongAlgorithm(format!("{:?}", header.alg))
            }
            _ => malformed(&e),
        })?;
        let claims = data.claims;
        check_claims(&claims)?;
        if claims.exp.saturating_add(LEEWAY_SECS) < now {
            return Err(AuthError::Expired(now - claims.exp));
        }
        if let Some(nbf) = claims.nbf
            && nbf > now.saturating_add(LEEWAY_SECS)
        {
            return Err(AuthError::NotYetValid(nbf - now));
        }
        if self.issuer.is_some() && claims.iss != self.issuer {
            return Err(AuthError::WrongIssuerOrAudience("issuer"));
        }
        if self.audience.is_some() && claims.aud != self.audience {
            return Err(AuthError::WrongIssuerOrAudience("audience"));
        }
        Ok(claims)
    }
}

impl Claims {
    /// Whether these claims allow `op` on `content_name`.
    pub fn permits(&self, op: Operation, content_name: &str) -> Result<(), AuthError> {
        if !self.role.allows(op) {
            return Err(AuthError::Forbidden {
                role: self.role.name().into(),
                action: op.name().into(),
            });
        }
        if !content::matches(&self.content, content_name) {
            return Err(AuthError::WrongContent {
                granted: self.content.clone(),
                requested: content_name.into(),
            });
        }
        Ok(())
    }
}

/// Shapes and caps of claims, on issue and on verify.
fn check_claims(claims: &Claims) -> Result<(), AuthError> {
    let bad = |what: &str| Err(AuthError::Malformed(what.to_owned()));
    if claims.jti.is_empty() || claims.jti.len() > MAX_ID_LEN {
        return bad("jti must hold 1 to 256 bytes");
    }
    if claims.sub.is_empty() || claims.sub.len() > MAX_ID_LEN {
        return bad("sub must hold 1 to 256 bytes");
    }
    if !content::valid_pattern(&claims.content) {
        return bad("content must be a name, NAME/* or *");
    }
    if claims.attrs.len() > MAX_ATTRS {
        return bad("more than 32 attrs");
    }
    if claims.nbf.is_some_and(|nbf| nbf > claims.exp) {
        return bad("nbf after exp");
    }
    Ok(())
}

fn malformed(e: &jsonwebtoken::errors::Error) -> AuthError {
    // The library's text names the part at fault, never the token itself.
    AuthError::Malformed(e.to_string())
}

/// A compact JWS signed with avrs-crypto's Ed25519 key.
fn sign_eddsa(key: &SigningKey, claims: &Claims) -> Result<String, AuthError> {
    if key.algorithm() != KeyAlgorithm::Ed25519 {
        return Err(AuthError::Config(
            "token_ed25519_key_file must hold an Ed25519 key (avrs keygen --alg ed25519)".into(),
        ));
    }
    let header = serde_json::json!({ "alg": "EdDSA", "typ": "JWT" });
    let payload = serde_json::to_vec(claims)
        .map_err(|e| AuthError::Config(format!("cannot encode claims: {e}")))?;
    let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature = key
        .sign_raw(token.as_bytes())
        .map_err(|e| AuthError::Config(format!("cannot sign the token: {e}")))?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

/// Whether `text` only holds the characters of a compact JWS, so it may be
/// copied into a URL or playlist without escaping.
pub fn is_url_safe(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
#[path = "token_tests.rs"]
pub(crate) mod tests;
