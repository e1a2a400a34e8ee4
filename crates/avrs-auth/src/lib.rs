//! Authentication and authorization for avrs nodes, without sockets.
//!
//! - [`token`]: JWT access tokens (EdDSA, HS256) and their claims.
//! - [`cert`]: member certificates signed with avrs-crypto keys, verified
//!   offline against the authority's certificate.
//! - [`totp`]: RFC 6238 codes for administrative actions.
//! - [`rbac`]: the one table of which role may do which operation.
//! - [`policy`]: ABAC rules (`[policy.NAME]`), deny overrides.
//! - [`revocation`]: the revocation list and its file.
//! - [`audit`]: security events as JSON lines.
//! - [`config`]: the `[auth]` section; [`Authorizer`]: everything together,
//!   what the node asks on every publish, play and admin request.
//!
//! `docs/security.md` describes formats, defaults and the threat model.

mod admin;
pub mod audit;
pub mod authorizer;
pub mod authorizer_policies;
pub mod cert;
pub mod config;
pub mod content;
pub mod error;
mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod grant;
pub mod policy;
pub mod policy_store;
pub mod rbac;
pub mod revocation;
pub mod token;
pub mod totp;

pub use audit::{AuditEvent, AuditLog};
pub use authorizer::Authorizer;
pub use cert::MemberCertificate;
pub use config::{AuthConfig, PlayMode, PublishMode};
pub use error::{AuthError, CertError};
pub use grant::{Credential, Grant, Via};
pub use rbac::{Operation, allowed};
pub use token::{Claims, TokenKeys, TokenRole};

/// Seconds since the Unix epoch of the system clock (0 before 1970).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
