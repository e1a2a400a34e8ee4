//! [`Authorizer`]: the node's one place for "may this peer do this?".
//! Built once from [`AuthConfig`]; the RTMP, HTTP and native drivers call
//! [`Authorizer::authorize_publish`], [`Authorizer::authorize_play`] or
//! [`Authorizer::check_token`], and every live session calls
//! [`Authorizer::recheck`] each `recheck_interval` and whenever
//! [`Authorizer::changes`] fires. Every decision goes to the audit log.

use crate::audit::{AuditEvent, AuditLog};
use crate::cert::{CertificateChain, MemberCertificate};
use crate::config::{AuthConfig, PlayMode, PublishMode};
use crate::error::AuthError;
use crate::files;
use crate::grant::SessionCounts;
pub use crate::grant::{Credential, Grant, Via};
use crate::policy::{self, Action, PolicyRequest, PolicyRule};
use crate::rbac::Operation;
use crate::revocation::{CertLink, Revocations, RevokedKind};
use crate::token::{LEEWAY_SECS, MIN_HS256_SECRET, TokenKeys};
use crate::totp::Totp;
use avrs_crypto::PublicKey;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, SystemTime};

/// A join certificate that checked out: the member's own certificate and
/// every certificate of the path it rests on, leaf first (at most
/// [`crate::cert::MAX_CHAIN`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCertificate {
    pub leaf: MemberCertificate,
    pub chain: Vec<CertLink>,
}

pub struct Authorizer {
    pub(crate) publish: PublishMode,
    pub(crate) play: PlayMode,
    pub(crate) keys: TokenKeys,
    stream_key: Option<String>,
    open_to: Vec<IpAddr>,
    /// The policies in force (config ones, then the API's).
    pub(crate) policies: RwLock<Vec<PolicyRule>>,
    pub(crate) policy_book: Mutex<crate::authorizer_policies::PolicyBook>,
    pub(crate) revocations: RwLock<Revocations>,
    pub(crate) revocation_file: Option<PathBuf>,
    pub(crate) revocation_stamp: Mutex<Option<(SystemTime, u64)>>,
    pub(crate) changes: tokio::sync::watch::Sender<u64>,
    pub(crate) totp: Option<Totp>,
    authority: Option<PublicKey>,
    pub(crate) audit: AuditLog,
    sessions: SessionCounts,
    recheck_interval: Duration,
    /// Content patterns of ENCRYPTED contents (`[auth] encrypt`).
    encrypt: Vec<String>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("publish", &self.publish)
            .field("play", &self.play)
            .field("keys", &self.keys)
            .field("stream_key", &self.stream_key.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    /// The embedded node's rules: loopback (and `open_to`) publish freely,
    /// others need `stream_key`; playing is open; nothing is logged.
    pub fn embedded(open_to: Vec<IpAddr>, stream_key: Option<String>) -> Self {
        Self {
            publish: PublishMode::LoopbackOrToken,
            play: PlayMode::Open,
            keys: TokenKeys::default(),
            stream_key,
            open_to,
            policies: RwLock::default(),
            policy_book: Mutex::default(),
            revocations: RwLock::default(),
            revocation_file: None,
            revocation_stamp: Mutex::new(None),
            changes: tokio::sync::watch::Sender::new(0),
            totp: None,
            authority: None,
            audit: AuditLog::disabled(),
            sessions: SessionCounts::default(),
            recheck_interval: Duration::from_secs(30),
            encrypt: Vec::new(),
        }
    }

    /// Reads every file `config` names (token keys, TOTP secret, authority
    /// certificate, revocation list) and opens the audit log.
    pub fn load(config: &AuthConfig, stream_key: Option<String>) -> Result<Self, AuthError> {
        let mut keys = TokenKeys {
            ed25519_public: config.token_ed25519_public_key.clone(),
            issuer: config.token_issuer.clone(),
            audience: config.token_audience.clone(),
            ..TokenKeys::default()
        };
        if let Some(path) = &config.token_ed25519_key_file {
            let key =
                avrs_crypto::keyfile::load(path).map_err(|e| AuthError::Config(e.to_string()))?;
            if key.algorithm() != avrs_crypto::Algorithm::Ed25519 {
                return Err(AuthError::Config(format!(
                    "{} holds a {} key; token_ed25519_key_file needs `avrs keygen --alg ed25519`",
                    path.display(),
                    key.algorithm().name()
                )));
            }
            keys.ed25519_public = Some(key.public_key().as_bytes().to_vec());
            keys.ed25519_signer = Some(key);
        }
        if let Some(path) = &config.token_hs256_secret_file {
            keys.hs256_secret = Some(load_hs256_secret(path)?);
        }
        let totp = config
            .admin_totp_secret_file
            .as_deref()
            .map(Totp::load)
            .transpose()?;
        let authority = match &config.ca_certificate_file {
            Some(path) => {
                let text = files::read_public(path, crate::cert::MAX_BYTES * 2)?;
                let cert = MemberCertificate::from_armor(&text)
                    .map_err(|e| AuthError::Config(format!("{}: {e}", path.display())))?;
                Some(cert.authority_key(crate::unix_now()).map_err(|e| {
                    AuthError::Config(format!("{}: authority certificate {e}", path.display()))
                })?)
            }
            None => None,
        };
        let audit = match &config.audit_log {
            Some(path) => AuditLog::open(path)?,
            None => AuditLog::disabled(),
        };
        let this = Self {
            publish: config.publish,
            play: config.play,
            keys,
            stream_key,
            open_to: Vec::new(),
            policies: RwLock::default(),
            policy_book: Mutex::new(crate::authorizer_policies::PolicyBook {
                config: config
                    .policies
                    .iter()
                    .cloned()
                    .zip(config.policy_entries.iter().map(|(_, e)| e.clone()))
                    .collect(),
                api: crate::policy_store::load(&config.policy_file)?,
                file: Some(config.policy_file.clone()),
            }),
            revocations: RwLock::default(),
            revocation_file: Some(config.revocation_file.clone()),
            revocation_stamp: Mutex::new(None),
            changes: tokio::sync::watch::Sender::new(0),
            totp,
            authority,
            audit,
            sessions: SessionCounts::default(),
            recheck_interval: config.recheck_interval,
            encrypt: config.encrypt.clone(),
        };
        this.apply_book(&this.policy_book.lock().unwrap_or_else(|e| e.into_inner()));
        this.reload_revocations()?;
        Ok(this)
    }

    pub fn publish_mode(&self) -> PublishMode {
        self.publish
    }

    pub fn play_mode(&self) -> PlayMode {
        self.play
    }

    /// Whether `content` is an ENCRYPTED content (`[auth] encrypt`).
    pub fn encrypts(&self, content: &str) -> bool {
        crate::content::matches_any(&self.encrypt, content)
    }

    /// How often live sessions recheck their grant.
    pub fn recheck_interval(&self) -> Duration {
        self.recheck_interval
    }

    /// Fires when revocations or policies change.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The token keys (for issuing from tools).
    pub fn token_keys(&self) -> &TokenKeys {
        &self.keys
    }

    /// May `peer` publish `content` with `credential`?
    pub fn authorize_publish(
        &self,
        peer: SocketAddr,
        content: &str,
        credential: Credential<'_>,
        now: u64,
    ) -> Result<Grant, AuthError> {
        let ip = peer.ip();
        let result = match credential {
            Credential::Token(token) => {
                self.token_grant(token, Operation::SessionContentAddIn, content, now)
            }
            Credential::StreamKey(key) => self.stream_key_grant(key, content, ip),
            Credential::None => match self.publish {
                PublishMode::Open => Ok(Grant::anonymous(Via::Open, content)),
                PublishMode::LoopbackOrToken if is_loopback(ip) || self.open_to.contains(&ip) => {
                    Ok(Grant::anonymous(Via::Loopback, content))
                }
                _ => Err(AuthError::Missing(format!(
                    "publishing '{content}' from {ip} needs a token: add ?token=TOKEN to the stream name (avrs token issue --role publisher){}",
                    if self.stream_key.is_some() {
                        " or ?key=STREAM_KEY"
                    } else {
                        ""
                    }
                ))),
            },
        };
        self.finish(result, Action::Publish, content, ip, now, true)
    }

    /// May `peer` watch `content` with `credential`? (A viewer opening a
    /// stream: RTMP play, HTTP-FLV, an HLS playlist.)
    pub fn authorize_play(
        &self,
        peer: IpAddr,
        content: &str,
        credential: Credential<'_>,
        now: u64,
    ) -> Result<Grant, AuthError> {
        let result = self.play_grant(peer, content, credential, now);
        self.finish(result, Action::Play, content, peer, now, true)
    }

    /// [`Authorizer::authorize_play`] for an output that delivers in clear
    /// (RTMP play, HTTP-FLV, HLS): an ENCRYPTED content is refused, since
    /// those players cannot open sealed frames and serving them in clear
    /// would undo the encryption. `first`: the request that opens a viewing
    /// (its acceptance is audited; later HLS segments' are not).
    pub fn authorize_clear_play(
        &self,
        peer: IpAddr,
        content: &str,
        credential: Credential<'_>,
        now: u64,
        first: bool,
    ) -> Result<Grant, AuthError> {
        let result = match self.encrypts(content) {
            true => Err(AuthError::EncryptedContent(content.to_owned())),
            false => self.play_grant(peer, content, credential, now),
        };
        self.finish(result, Action::Play, content, peer, now, first)
    }

    fn play_grant(
        &self,
        peer: IpAddr,
        content: &str,
        credential: Credential<'_>,
        now: u64,
    ) -> Result<Grant, AuthError> {
        match (credential, self.play) {
            (Credential::Token(token), _) => {
                self.token_grant(token, Operation::SessionContentAddOut, content, now)
            }
            (Credential::StreamKey(key), _) => self.stream_key_grant(key, content, peer),
            (Credential::None, PlayMode::Open) => Ok(Grant::anonymous(Via::Open, content)),
            (Credential::None, PlayMode::Token) => Err(AuthError::Missing(format!(
                "watching '{content}' needs a token: add ?token=TOKEN to the URL or send Authorization: Bearer TOKEN"
            ))),
        }
    }

    /// The native protocol's check: `token` for `op` on `content_name`.
    pub fn check_token(
        &self,
        token: &str,
        op: Operation,
        content_name: &str,
        peer: IpAddr,
        now: u64,
    ) -> Result<Grant, AuthError> {
        let result = self.token_grant(token, op, content_name, now);
        let action = match op {
            Operation::SessionContentAddIn | Operation::SessionContentUpdate => Action::Publish,
            op if op.name().starts_with("admin") => Action::Admin,
            _ => Action::Play,
        };
        self.finish(result, action, content_name, peer, now, true)
    }

    /// A member certificate or chain (armoured or binary) for `op`: issued
    /// by the configured authority, or by an operator it certified
    /// ([`CertificateChain::verify`]: not revoked, valid at `now`), the
    /// leaf's roles allowing `op`. The grant expires with the first
    /// certificate of the path to expire.
    pub fn check_certificate(
        &self,
        cert: &[u8],
        op: Operation,
        now: u64,
    ) -> Result<Grant, AuthError> {
        let authority = self.authority.as_ref().ok_or_else(|| {
            AuthError::Config(
                "no ca_certificate_file configured: certificates cannot be checked".into(),
            )
        })?;
        let chain = CertificateChain::parse(cert)?;
        let path = chain.verify(
            authority,
            &self.revocations.read().unwrap_or_else(|e| e.into_inner()),
            now,
        )?;
        let cert = chain.leaf();
        if !crate::rbac::allowed(cert.roles, op) {
            return Err(AuthError::Forbidden {
                role: cert.roles.to_string(),
                action: op.name().into(),
            });
        }
        let mut grant = Grant::anonymous(Via::Certificate, "*");
        grant.subject = cert.member_id().to_hex();
        grant.expires = path.iter().map(|c| c.not_after).min();
        grant.chain = path.iter().map(|c| c.link()).collect();
        grant.attrs = cert.attrs.clone();
        Ok(grant)
    }

    /// A member certificate presented to join a cluster (binary chain):
    /// anchored at `host` (the cluster host's own key) when its path leads
    /// there, else at the configured authority (`ca_certificate_file`);
    /// then [`CertificateChain::verify`] at `now` against this node's
    /// revocation list. What the leaf certifies (member id, roles) is the
    /// caller's check. Returns the leaf and the path it rests on.
    pub fn check_join_certificate(
        &self,
        bytes: &[u8],
        host: &PublicKey,
        now: u64,
    ) -> Result<JoinCertificate, AuthError> {
        let chain = CertificateChain::from_bytes(bytes)?;
        let links = match chain.path(host) {
            Ok(_) => {
                let revoked = self.revocations.read().unwrap_or_else(|e| e.into_inner());
                let path = chain.verify(host, &revoked, now)?;
                path.iter().map(|c| c.link()).collect()
            }
            // Without a configured authority the only one is the host,
            // and why the chain does not lead to it is the answer.
            Err(not_host) => {
                match self.check_certificate(bytes, Operation::MemberRequestAdd, now) {
                    Ok(grant) => grant.chain,
                    Err(AuthError::Config(_)) => return Err(not_host.into()),
                    Err(other) => return Err(other),
                }
            }
        };
        Ok(JoinCertificate {
            leaf: chain.leaf().clone(),
            chain: links,
        })
    }

    /// Whether a live session's grant still holds: not expired, not
    /// revoked (by jti, subject, or the serial or member id of any
    /// certificate of its chain: revoking an operator ends the grants of
    /// the certificates it issued).
    pub fn recheck(&self, grant: &Grant, now: u64) -> Result<(), AuthError> {
        if let Some(expires) = grant.expires
            && expires.saturating_add(LEEWAY_SECS) < now
        {
            return Err(AuthError::Expired(now - expires));
        }
        self.check_revoked(
            grant.jti.as_deref(),
            &grant.subject,
            &grant.chain,
            grant.via,
        )
    }

    fn check_revoked(
        &self,
        jti: Option<&str>,
        subject: &str,
        chain: &[CertLink],
        via: Via,
    ) -> Result<(), AuthError> {
        let list = self.revocations.read().unwrap_or_else(|e| e.into_inner());
        if let Some(jti) = jti.filter(|j| list.contains(RevokedKind::Jti, j)) {
            return Err(AuthError::Revoked(format!("token {jti}")));
        }
        if matches!(via, Via::Token | Via::Certificate) && list.contains(RevokedKind::Sub, subject)
        {
            return Err(AuthError::Revoked(format!("subject {subject}")));
        }
        if let Some(revoked) = list.revoked_link(chain) {
            return Err(AuthError::Revoked(revoked.to_string()));
        }
        Ok(())
    }

    /// Runs `check` on the revocation list in force (read-locked for the
    /// call): the cluster roster matches its members against it.
    pub fn with_revocations<R>(&self, check: impl FnOnce(&Revocations) -> R) -> R {
        check(&self.revocations.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn token_grant(
        &self,
        token: &str,
        op: Operation,
        content: &str,
        now: u64,
    ) -> Result<Grant, AuthError> {
        let claims = self.keys.verify(token, now)?;
        self.check_revoked(Some(&claims.jti), &claims.sub, &[], Via::Token)?;
        claims.permits(op, content)?;
        Ok(Grant {
            via: Via::Token,
            subject: claims.sub,
            role: Some(claims.role),
            jti: Some(claims.jti),
            expires: Some(claims.exp),
            attrs: claims.attrs,
            content: content.to_owned(),
            chain: Vec::new(),
            lease: None,
        })
    }

    fn stream_key_grant(
        &self,
        offered: &str,
        content: &str,
        ip: IpAddr,
    ) -> Result<Grant, AuthError> {
        match &self.stream_key {
            Some(key) if files::same_secret(key.as_bytes(), offered.as_bytes()) => {
                Ok(Grant::anonymous(Via::StreamKey, content))
            }
            _ => Err(AuthError::WrongStreamKey(format!(
                "'{content}' from {ip}: wrong stream key"
            ))),
        }
    }

    /// Policies, the session count, and the audit line of every decision.
    fn finish(
        &self,
        result: Result<Grant, AuthError>,
        action: Action,
        content: &str,
        peer: IpAddr,
        now: u64,
        audit_allow: bool,
    ) -> Result<Grant, AuthError> {
        let result = result.and_then(|mut grant| {
            let policies = self.policies.read().unwrap_or_else(|e| e.into_inner());
            if !policies.is_empty() {
                let request = PolicyRequest {
                    action,
                    content,
                    role: grant.role,
                    attrs: &grant.attrs,
                    peer,
                    now,
                    open_sessions: self.sessions.open(&grant.subject),
                };
                let decision = policy::evaluate(&policies, &request);
                if !decision.allowed {
                    return Err(AuthError::PolicyDenied {
                        rule: decision.rule.unwrap_or_else(|| "default".into()),
                        reason: decision.reason,
                    });
                }
            }
            grant.lease = Some(self.sessions.lease(&grant.subject));
            Ok(grant)
        });
        if result.is_ok() && !audit_allow {
            return result;
        }
        let (subject, jti) = match &result {
            Ok(grant) => (Some(grant.subject.clone()), grant.jti.clone()),
            Err(_) => (None, None),
        };
        self.audit.record(
            AuditEvent {
                event: action.name(),
                subject,
                peer: Some(peer.to_string()),
                action: Some(action.name().into()),
                content: Some(content.to_owned()),
                result: if result.is_ok() { "allow" } else { "deny" },
                reason: result.as_ref().err().map(ToString::to_string),
                jti,
                ..AuditEvent::default()
            },
            SystemTime::now(),
        );
        result
    }

    /// Records a security event (session closed, admin action, …).
    pub fn audit(&self, event: AuditEvent) {
        self.audit.record(event, SystemTime::now());
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
        || matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()))
}

fn load_hs256_secret(path: &std::path::Path) -> Result<zeroize::Zeroizing<Vec<u8>>, AuthError> {
    let mut secret = files::read_secret(path, 4096)?;
    while secret.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        secret.pop();
    }
    if secret.len() < MIN_HS256_SECRET {
        return Err(AuthError::Config(format!(
            "{} holds {} bytes; an HS256 secret needs at least {MIN_HS256_SECRET}",
            path.display(),
            secret.len()
        )));
    }
    Ok(secret)
}

#[cfg(test)]
#[path = "authorizer_tests.rs"]
mod tests;
