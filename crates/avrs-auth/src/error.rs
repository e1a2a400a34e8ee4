//! The one error enum of this layer. Every variant says what was refused and
//! why in words a user can act on, and maps to an AVRS return code
//! ([`AuthError::retcode`]) for the native protocol; the RTMP and HTTP
//! drivers map the same variants to their own refusals.
//!
//! Messages never contain a secret or a whole token (at most its `jti`).

use avrs_proto::avrs::RetCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credential where one is required.
    #[error("{0}")]
    Missing(String),
    /// Not a token: bad shape, bad base64/JSON, a claim of the wrong type,
    /// or longer than the cap.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The token's `alg` is not the one configured for its key (or no key
    /// of that kind is configured).
    #[error("token algorithm {0} is not accepted by this node")]
    WrongAlgorithm(String),
    /// Signature does not verify with the configured key.
    #[error("token signature does not verify")]
    BadSignature,
    /// `exp` has passed.
    #[error("token expired {0} s ago")]
    Expired(u64),
    /// `nbf` lies in the future.
    #[error("token not valid for another {0} s")]
    NotYetValid(u64),
    /// `iss` or `aud` differ from the configured ones.
    #[error("token {0} does not match this node")]
    WrongIssuerOrAudience(&'static str),
    /// The token or certificate names other content.
    #[error("credential is for '{granted}', not for '{requested}'")]
    WrongContent { granted: String, requested: String },
    /// The role may not do this operation.
    #[error("role {role} may not {action}")]
    Forbidden { role: String, action: String },
    /// The token (`jti`), subject or certificate serial is revoked.
    #[error("{0} is revoked")]
    Revoked(String),
    /// An ABAC policy rule refused the request.
    #[error("refused by policy [{rule}]: {reason}")]
    PolicyDenied { rule: String, reason: String },
    /// Member certificate problems.
    #[error("certificate: {0}")]
    Certificate(#[from] CertError),
    /// A missing, wrong or replayed TOTP code.
    #[error("{0}")]
    Totp(String),
    /// A wrong stream key.
    #[error("{0}")]
    WrongStreamKey(String),
    /// Configuration or key/secret file problems (node side, not client).
    #[error("{0}")]
    Config(String),
    /// An ENCRYPTED content asked for through an output that delivers in
    /// clear (RTMP play, HTTP-FLV, HLS).
    #[error(
        "'{0}' is an ENCRYPTED content: only native AVRS players receive it (avrs play avrs://HOST/{0})"
    )]
    EncryptedContent(String),
}

/// Why a member certificate was refused; each a distinct variant so tests
/// and logs tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("expired at {0} (unix time)")]
    Expired(u64),
    #[error("not valid before {0} (unix time)")]
    NotYetValid(u64),
    #[error("serial {0} is revoked")]
    Revoked(String),
    #[error("not signed by the configured authority ({0})")]
    WrongSigner(String),
    #[error("signature does not verify")]
    BadSignature,
    /// The member id (SHA3-256 of the certified key) is revoked.
    #[error("member {0} is revoked")]
    MemberRevoked(String),
    /// More certificates in one chain than [`crate::cert::MAX_CHAIN`].
    #[error(
        "a certificate chain holds at most {} certificates (the member's, its issuer's, the authority's)",
        crate::cert::MAX_CHAIN
    )]
    ChainTooLong,
    /// The leaf's issuer is certified by another operator, not by the
    /// authority: one operator level at most.
    #[error(
        "issuer {0} is not certified by the authority itself: at most one operator between the authority and a member"
    )]
    ChainTooDeep(String),
    /// The certificate of the operator that issued the leaf was refused.
    #[error("issuer certificate {issuer}: {reason}")]
    Issuer {
        issuer: String,
        reason: Box<CertError>,
    },
    /// The leaf's issuer holds neither the operator nor the host role.
    #[error(
        "issuer {issuer} holds roles {roles}: only an operator (or host) certificate may issue member certificates"
    )]
    IssuerNotAllowed { issuer: String, roles: String },
    /// An issuer below the authority certified the host or operator role.
    #[error(
        "issuer {issuer} may not certify roles {roles}: only the authority itself certifies host and operator"
    )]
    RoleEscalation { issuer: String, roles: String },
}

impl AuthError {
    /// The AVRS return code a native peer gets for this refusal.
    pub fn retcode(&self) -> RetCode {
        match self {
            AuthError::Malformed(_) => RetCode::ArgIncorrect,
            AuthError::BadSignature => RetCode::SignIncorrect,
            AuthError::WrongAlgorithm(_) => RetCode::SignIncorrect,
            AuthError::WrongContent { .. } => RetCode::SessionContentIdWrong,
            AuthError::Certificate(CertError::Malformed(_) | CertError::ChainTooLong) => {
                RetCode::MemberInfoProblem
            }
            AuthError::Certificate(CertError::BadSignature) => RetCode::SignIncorrect,
            AuthError::Certificate(CertError::WrongSigner(_)) => RetCode::SignAlien,
            AuthError::Config(_) => RetCode::Error,
            AuthError::EncryptedContent(_) => RetCode::ContentUnavailable,
            AuthError::Missing(_)
            | AuthError::Expired(_)
            | AuthError::NotYetValid(_)
            | AuthError::WrongIssuerOrAudience(_)
            | AuthError::Forbidden { .. }
            | AuthError::Revoked(_)
            | AuthError::PolicyDenied { .. }
            | AuthError::Certificate(_)
            | AuthError::Totp(_)
            | AuthError::WrongStreamKey(_) => RetCode::MemberSecurityIssue,
        }
    }

    /// A short stable word for logs and the audit trail.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthError::Missing(_) => "missing",
            AuthError::Malformed(_) => "malformed",
            AuthError::WrongAlgorithm(_) => "wrong_algorithm",
            AuthError::BadSignature => "bad_signature",
            AuthError::Expired(_) => "expired",
            AuthError::NotYetValid(_) => "not_yet_valid",
            AuthError::WrongIssuerOrAudience(_) => "wrong_issuer_or_audience",
            AuthError::WrongContent { .. } => "wrong_content",
            AuthError::Forbidden { .. } => "forbidden",
            AuthError::Revoked(_) => "revoked",
            AuthError::PolicyDenied { .. } => "policy",
            AuthError::Certificate(_) => "certificate",
            AuthError::Totp(_) => "totp",
            AuthError::WrongStreamKey(_) => "wrong_stream_key",
            AuthError::Config(_) => "config",
            AuthError::EncryptedContent(_) => "encrypted_content",
        }
    }

    /// Whether the client should be told "authenticate" (HTTP 401) rather
    /// than "not allowed" (403).
    pub fn is_unauthenticated(&self) -> bool {
        matches!(
            self,
            AuthError::Missing(_)
                | AuthError::Malformed(_)
                | AuthError::WrongAlgorithm(_)
                | AuthError::BadSignature
                | AuthError::Expired(_)
                | AuthError::NotYetValid(_)
                | AuthError::WrongIssuerOrAudience(_)
                | AuthError::WrongStreamKey(_)
                | AuthError::Totp(_)
        )
    }
}
