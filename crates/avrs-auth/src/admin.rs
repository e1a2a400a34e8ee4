//! Administrative actions of an [`Authorizer`]: checking an admin request
//! (token with role host/operator + TOTP), revoking, reloading the
//! revocation list, issuing tokens.

use crate::audit::AuditEvent;
use crate::authorizer::Authorizer;
use crate::error::AuthError;
use crate::rbac::Operation;
use crate::revocation::{Revocations, RevokedKind};
use crate::token::{Claims, TokenRole};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

impl Authorizer {
    /// An admin request: `bearer` must be a valid, unrevoked token whose
    /// role may do `op`, and `totp` the current code of the admin secret.
    pub fn authorize_admin(
        &self,
        bearer: Option<&str>,
        totp: Option<&str>,
        op: Operation,
        peer: IpAddr,
        now: u64,
    ) -> Result<Claims, AuthError> {
        let result = self.admin_check(bearer, totp, op, now);
        self.audit.record(
            AuditEvent {
                event: "admin_login",
                subject: result.as_ref().ok().map(|c| c.sub.clone()),
                peer: Some(peer.to_string()),
                action: Some(op.name().into()),
                result: if result.is_ok() { "allow" } else { "deny" },
                reason: result.as_ref().err().map(ToString::to_string),
                jti: result.as_ref().ok().map(|c| c.jti.clone()),
                ..AuditEvent::default()
            },
            SystemTime::now(),
        );
        result
    }

    fn admin_check(
        &self,
        bearer: Option<&str>,
        totp: Option<&str>,
        op: Operation,
        now: u64,
    ) -> Result<Claims, AuthError> {
        let Some(secret) = &self.totp else {
            return Err(AuthError::Forbidden {
                role: "anyone".into(),
                action: format!(
                    "{} (the admin API needs admin_totp_secret_file in [auth])",
                    op.name()
                ),
            });
        };
        let token = bearer.ok_or_else(|| {
            AuthError::Missing(
                "admin requests need Authorization: Bearer TOKEN (role host or operator)".into(),
            )
        })?;
        let claims = self.keys.verify(token, now)?;
        let revoked = self.revocations.read().unwrap_or_else(|e| e.into_inner());
        if revoked.contains(RevokedKind::Jti, &claims.jti)
            || revoked.contains(RevokedKind::Sub, &claims.sub)
        {
            return Err(AuthError::Revoked(format!("token {}", claims.jti)));
        }
        drop(revoked);
        if !claims.role.allows(op) {
            return Err(AuthError::Forbidden {
                role: claims.role.name().into(),
                action: op.name().into(),
            });
        }
        let code = totp.ok_or_else(|| {
            AuthError::Totp("admin requests need a TOTP code (header X-Avrs-Totp)".into())
        })?;
        secret.check(code.trim(), now)?;
        Ok(claims)
    }

    /// Revokes `value`, saves the list atomically and tells every live
    /// session to recheck. `actor` is who asked (for the audit trail).
    /// Returns `false` when it was revoked already.
    pub fn revoke(&self, kind: RevokedKind, value: &str, actor: &str) -> Result<bool, AuthError> {
        let mut list = self.revocations.write().unwrap_or_else(|e| e.into_inner());
        let mut updated = list.clone();
        let added = updated.insert(kind, value)?;
        if added {
            if let Some(path) = &self.revocation_file {
                updated.save(path)?;
                *self
                    .revocation_stamp
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = file_stamp(path);
            }
            *list = updated;
        }
        drop(list);
        self.changes.send_modify(|n| *n += 1);
        self.audit.record(
            AuditEvent {
                event: "revoke",
                subject: Some(actor.to_owned()),
                action: Some(format!("revoke {}", kind.word())),
                result: "ok",
                reason: Some(format!("{} {value}", kind.word())),
                ..AuditEvent::default()
            },
            SystemTime::now(),
        );
        Ok(added)
    }

    /// Reads the revocation file again when its time or size changed
    /// (another process, or an operator's editor, wrote it). Returns
    /// whether the list changed.
    pub fn reload_revocations(&self) -> Result<bool, AuthError> {
        let Some(path) = &self.revocation_file else {
            return Ok(false);
        };
        let stamp = file_stamp(path);
        let mut last = self
            .revocation_stamp
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if *last == stamp && stamp.is_some() {
            return Ok(false);
        }
        let fresh = Revocations::load(path)?;
        *last = stamp;
        drop(last);
        let mut list = self.revocations.write().unwrap_or_else(|e| e.into_inner());
        if *list == fresh {
            return Ok(false);
        }
        *list = fresh;
        drop(list);
        self.changes.send_modify(|n| *n += 1);
        Ok(true)
    }

    /// Makes and signs a token with a random `jti`.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_token(
        &self,
        role: TokenRole,
        content: &str,
        subject: &str,
        ttl_secs: u64,
        attrs: BTreeMap<String, String>,
        now: u64,
    ) -> Result<(String, Claims), AuthError> {
        let jti: [u8; 16] = avrs_crypto::random_bytes()
            .map_err(|e| AuthError::Config(format!("no randomness: {e}")))?;
        let claims = Claims {
            iss: self.keys.issuer.clone(),
            aud: self.keys.audience.clone(),
            sub: subject.to_owned(),
            role,
            content: content.to_owned(),
            exp: now.saturating_add(ttl_secs),
            nbf: Some(now),
            iat: now,
            jti: hex::encode(jti),
            attrs,
        };
        let token = self.keys.issue(&claims)?;
        Ok((token, claims))
    }

    /// Checks a TOTP code alone (the offline CLI's admin actions).
    pub fn check_totp(&self, code: &str, now: u64) -> Result<(), AuthError> {
        match &self.totp {
            Some(secret) => secret.check(code.trim(), now),
            None => Err(AuthError::Config(
                "no admin_totp_secret_file in [auth]: run `avrs mfa enroll --config FILE` first"
                    .into(),
            )),
        }
    }
}

fn file_stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}
