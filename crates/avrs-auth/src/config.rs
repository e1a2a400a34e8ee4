//! The `[auth]` section and the `[policy.NAME]` sections, validated. Errors
//! name `file:line`, the key and what was expected.
//!
//! Defaults depend on how the node was started: the embedded node (no
//! config file) keeps loopback publishing open, while a node started with a
//! config file requires a token or the stream key for every publish,
//! loopback included, unless `publish` says otherwise.

use crate::error::AuthError;
use crate::policy::{Action, Cidr, Effect, PolicyRule};
use crate::token::TokenRole;
use avrs_config::{Config, ExtensionSection};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Who may publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishMode {
    /// A token with role publisher (or the stream key), from any address.
    Token,
    /// Loopback without a credential; others a token or the stream key.
    LoopbackOrToken,
    /// Anyone (for closed networks and tests).
    Open,
}

/// Who may watch (RTMP play, HTTP-FLV, LL-HLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayMode {
    Open,
    /// A token with role viewer or above, for the content.
    Token,
}

/// Everything the `[auth]` section (and the certificate keys of `[avrs]`)
/// say, before any file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    pub publish: PublishMode,
    pub play: PlayMode,
    pub token_ed25519_key_file: Option<PathBuf>,
    pub token_ed25519_public_key: Option<Vec<u8>>,
    pub token_hs256_secret_file: Option<PathBuf>,
    pub token_issuer: Option<String>,
    pub token_audience: Option<String>,
    pub revocation_file: PathBuf,
    pub admin_totp_secret_file: Option<PathBuf>,
    /// `None`: no audit log (`audit_log = off`).
    pub audit_log: Option<PathBuf>,
    pub ca_certificate_file: Option<PathBuf>,
    pub policies: Vec<PolicyRule>,
    /// The keys and values of each config policy, as written (for the
    /// admin API's list).
    pub policy_entries: Vec<(String, BTreeMap<String, String>)>,
    /// Where policies set through the admin API are kept.
    pub policy_file: PathBuf,
    /// Content name patterns (`live/private/*`) whose frames are sealed end
    /// to end (ENCRYPTED contents): relays forward them unread, only
    /// sessions granted play get the key.
    pub encrypt: Vec<String>,
    /// How often live sessions recheck their grant: `heartbeat_interval`.
    pub recheck_interval: std::time::Duration,
    /// Where relative paths in tools' output point: the data directory.
    pub data_dir: PathBuf,
}

pub const KEYS: [&str; 12] = [
    "publish",
    "play",
    "token_ed25519_key_file",
    "token_ed25519_public_key",
    "token_hs256_secret_file",
    "token_issuer",
    "token_audience",
    "revocation_file",
    "policy_file",
    "admin_totp_secret_file",
    "audit_log",
    "encrypt",
];

pub const POLICY_KEYS: [&str; 11] = [
    "effect",
    "actions",
    "content",
    "roles",
    "subject",
    "cidr",
    "region",
    "hours",
    "days",
    "max_concurrent",
    "description",
];

impl AuthConfig {
    /// The settings of a node. `from_file`: whether a config file was given
    /// (it decides the publish default).
    pub fn from_config(config: &Config, from_file: bool) -> Result<Self, AuthError> {
        let data_dir = config.data_dir.clone();
        let mut auth = Self {
            publish: if from_file {
                PublishMode::Token
            } else {
                PublishMode::LoopbackOrToken
            },
            play: PlayMode::Open,
            token_ed25519_key_file: None,
            token_ed25519_public_key: None,
            token_hs256_secret_file: None,
            token_issuer: None,
            token_audience: None,
            revocation_file: data_dir.join("revoked.txt"),
            admin_totp_secret_file: None,
            audit_log: Some(data_dir.join("audit.log")),
            ca_certificate_file: config.ca_certificate_file.clone(),
            policies: Vec::new(),
            policy_entries: Vec::new(),
            policy_file: data_dir.join("policies.ini"),
            encrypt: Vec::new(),
            recheck_interval: config.heartbeat_interval,
            data_dir,
        };
        if let Some(section) = config.extension("auth") {
            auth.apply(section)?;
        }
        for section in config.extensions_with_prefix("policy.") {
            let rule = parse_policy(section)?;
            let entries = section
                .section
                .entries
                .iter()
                .map(|e| (e.key.clone(), e.value.clone()))
                .collect();
            auth.policy_entries.push((rule.name.clone(), entries));
            auth.policies.push(rule);
        }
        Ok(auth)
    }

    /// Whether the content `name` is an ENCRYPTED content.
    pub fn encrypts(&self, name: &str) -> bool {
        crate::content::matches_any(&self.encrypt, name)
    }

    fn apply(&mut self, section: &ExtensionSection) -> Result<(), AuthError> {
        let base = Path::new(&section.file).parent().unwrap_or(Path::new(""));
        let path = |v: &str| base.join(v);
        for entry in &section.section.entries {
            let fail = |expected: &str| at(section, entry.line, &entry.key, expected, &entry.value);
            let v = entry.value.as_str();
            match entry.key.as_str() {
                "publish" => {
                    self.publish = match v {
                        "token" => PublishMode::Token,
                        "loopback-or-token" => PublishMode::LoopbackOrToken,
                        "open" => PublishMode::Open,
                        _ => return Err(fail("token, loopback-or-token or open")),
                    }
                }
                "play" => {
                    self.play = match v {
                        "open" => PlayMode::Open,
                        "token" => PlayMode::Token,
                        _ => return Err(fail("open or token")),
                    }
                }
                "token_ed25519_key_file" => self.token_ed25519_key_file = Some(path(v)),
                "token_ed25519_public_key" => {
                    let key = hex::decode(v).ok().filter(|k| k.len() == 32);
                    let key = key.ok_or_else(|| fail("64 hex digits (an Ed25519 public key)"))?;
                    self.token_ed25519_public_key = Some(key);
                }
                "token_hs256_secret_file" => self.token_hs256_secret_file = Some(path(v)),
                "token_issuer" => self.token_issuer = Some(v.to_owned()),
                "token_audience" => self.token_audience = Some(v.to_owned()),
                "revocation_file" => self.revocation_file = path(v),
                "policy_file" => self.policy_file = path(v),
                "admin_totp_secret_file" => self.admin_totp_secret_file = Some(path(v)),
                "audit_log" if v == "off" => self.audit_log = None,
                "audit_log" => self.audit_log = Some(path(v)),
                "encrypt" => {
                    let patterns: Vec<String> = list(v).map(str::to_owned).collect();
                    if !patterns.iter().all(|p| crate::content::valid_pattern(p)) {
                        return Err(fail(
                            "content names or patterns such as live/private/* or *",
                        ));
                    }
                    self.encrypt = patterns;
                }
                other => {
                    return Err(AuthError::Config(format!(
                        "{}:{}: unknown key '{other}' in [auth]; expected one of {}",
                        section.file,
                        entry.line,
                        KEYS.join(", ")
                    )));
                }
            }
            if v.is_empty() {
                return Err(fail("a value"));
            }
        }
        Ok(())
    }
}

fn at(section: &ExtensionSection, line: usize, key: &str, expected: &str, got: &str) -> AuthError {
    let got: String = got
        .chars()
        .take(80)
        .flat_map(char::escape_default)
        .collect();
    AuthError::Config(format!(
        "{}:{line}: key '{key}' in [{}]: expected {expected}, got '{got}'",
        section.file, section.section.name
    ))
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
}

pub(crate) fn parse_policy(section: &ExtensionSection) -> Result<PolicyRule, AuthError> {
    let name = section.section.name["policy.".len()..].to_owned();
    let mut rule = PolicyRule {
        name,
        effect: Effect::Deny,
        actions: vec![],
        content: None,
        roles: vec![],
        subject_attrs: BTreeMap::new(),
        cidrs: vec![],
        regions: vec![],
        hours: None,
        days: 0,
        max_concurrent: None,
    };
    let mut effect_seen = false;
    for entry in &section.section.entries {
        let fail = |expected: &str| at(section, entry.line, &entry.key, expected, &entry.value);
        let v = entry.value.as_str();
        match entry.key.as_str() {
            "effect" => {
                effect_seen = true;
                rule.effect = match v {
                    "allow" => Effect::Allow,
                    "deny" => Effect::Deny,
                    _ => return Err(fail("allow or deny")),
                }
            }
            "actions" => {
                rule.actions = list(v)
                    .map(Action::parse)
                    .collect::<Option<_>>()
                    .ok_or_else(|| fail("publish, play and/or admin"))?
            }
            "content" if crate::content::valid_pattern(v) => rule.content = Some(v.to_owned()),
            "content" => return Err(fail("a content name, NAME/* or *")),
            "roles" => {
                rule.roles = list(v)
                    .map(TokenRole::parse)
                    .collect::<Option<_>>()
                    .ok_or_else(|| fail("viewer, publisher, operator and/or host"))?
            }
            "subject" => {
                for pair in list(v) {
                    let (k, val) = pair
                        .split_once('=')
                        .ok_or_else(|| fail("KEY=VALUE pairs"))?;
                    rule.subject_attrs.insert(k.to_owned(), val.to_owned());
                }
            }
            "cidr" => {
                rule.cidrs = list(v)
                    .map(Cidr::parse)
                    .collect::<Option<_>>()
                    .ok_or_else(|| fail("address ranges such as 10.0.0.0/8, 2001:db8::/32"))?
            }
            "region" => rule.regions = list(v).map(str::to_owned).collect(),
            "hours" => {
                rule.hours = Some(
                    parse_hours(v)
                        .ok_or_else(|| fail("UTC hours START-END, 0-24, such as 8-18"))?,
                )
            }
            "days" => {
                rule.days = parse_days(v).ok_or_else(|| fail("days such as mon-fri or sat,sun"))?
            }
            "max_concurrent" => {
                let n = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1_000_000).contains(n));
                rule.max_concurrent =
                    Some(n.ok_or_else(|| fail("a whole number from 1 to 1000000"))?);
            }
            "description" => {}
            other => {
                return Err(AuthError::Config(format!(
                    "{}:{}: unknown key '{other}' in [{}]; expected one of {}",
                    section.file,
                    entry.line,
                    section.section.name,
                    POLICY_KEYS.join(", ")
                )));
            }
        }
    }
    if !effect_seen {
        return Err(AuthError::Config(format!(
            "{}:{}: [{}] needs `effect = allow` or `effect = deny`",
            section.file, section.section.line, section.section.name
        )));
    }
    Ok(rule)
}

fn parse_hours(v: &str) -> Option<(u8, u8)> {
    let (a, b) = v.split_once('-')?;
    let (a, b) = (a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?);
    (a < 24 && b <= 24 && a != b).then_some((a, b))
}

const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn parse_days(v: &str) -> Option<u8> {
    let day = |d: &str| DAYS.iter().position(|n| n.eq_ignore_ascii_case(d.trim()));
    let mut mask = 0u8;
    for item in list(v) {
        match item.split_once('-') {
            Some((a, b)) => {
                let (mut d, end) = (day(a)?, day(b)?);
                loop {
                    mask |= 1 << d;
                    if d == end {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => mask |= 1 << day(item)?,
        }
    }
    (mask != 0).then_some(mask)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
