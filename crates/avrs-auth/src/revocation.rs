//! The revocation list: token ids (`jti`), subjects (`sub`) and member
//! certificate serials. File format, one entry per line:
//!
//! ```text
//! # comment
//! jti 3f2a…
//! sub alice
//! serial 0f1e2d3c4b5a69788796a5b4c3d2e1f0
//! ```
//!
//! The node reads it at start and whenever it changes; the admin API
//! rewrites it atomically.
//!
//! A member id is revoked as a subject (`sub ID`). A grant made from a
//! certificate chain keeps every certificate of its path ([`CertLink`]),
//! so revoking an operator's serial or member id also ends what was
//! granted earlier by a certificate it issued
//! ([`Revocations::revoked_link`]).

use crate::error::AuthError;
use crate::files;
use std::collections::BTreeSet;
use std::path::Path;

/// Largest list file read.
pub const MAX_FILE_BYTES: usize = 4 << 20;
/// Longest entry value.
pub const MAX_VALUE_LEN: usize = 256;

/// What can be revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RevokedKind {
    Jti,
    Sub,
    Serial,
}

impl RevokedKind {
    pub fn word(self) -> &'static str {
        match self {
            RevokedKind::Jti => "jti",
            RevokedKind::Sub => "sub",
            RevokedKind::Serial => "serial",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        [Self::Jti, Self::Sub, Self::Serial]
            .into_iter()
            .find(|k| k.word() == word)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocations {
    entries: BTreeSet<(RevokedKind, String)>,
}

impl Revocations {
    pub fn contains(&self, kind: RevokedKind, value: &str) -> bool {
        self.entries.contains(&(kind, value.to_owned()))
    }

    /// Adds an entry; `false` when it was there already.
    pub fn insert(&mut self, kind: RevokedKind, value: &str) -> Result<bool, AuthError> {
        check_value(value)?;
        let value = if kind == RevokedKind::Serial {
            value.to_ascii_lowercase()
        } else {
            value.to_owned()
        };
        Ok(self.entries.insert((kind, value)))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn parse(text: &str, file: &str) -> Result<Self, AuthError> {
        let mut list = Self::default();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |what: &str| AuthError::Config(format!("{file}:{}: {what}", index + 1));
            let (word, value) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| at("expected `jti|sub|serial VALUE`"))?;
            let kind = RevokedKind::parse(word)
                .ok_or_else(|| at("expected `jti`, `sub` or `serial` first"))?;
            list.insert(kind, value.trim())
                .map_err(|e| at(&e.to_string()))?;
        }
        Ok(list)
    }

    /// Reads the file; a missing file is an empty list.
    pub fn load(path: &Path) -> Result<Self, AuthError> {
        if !path.exists() {
            return Ok(Self::default());
        }
        let bytes = files::read_public(path, MAX_FILE_BYTES)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| AuthError::Config(format!("{} is not UTF-8", path.display())))?;
        Self::parse(text, &path.display().to_string())
    }

    pub fn render(&self) -> String {
        let mut out = String::from("# avrs revocation list: jti|sub|serial VALUE\n");
        for (kind, value) in &self.entries {
            out.push_str(kind.word());
            out.push(' ');
            out.push_str(value);
            out.push('\n');
        }
        out
    }

    /// Writes the list atomically (readers see the old or the new one).
    pub fn save(&self, path: &Path) -> Result<(), AuthError> {
        files::write_atomic(path, self.render().as_bytes(), true)
    }
}

/// One certificate of the path a grant or an admission rests on, by what
/// can revoke it: its serial and its member id (both lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CertLink {
    pub serial: String,
    pub member: String,
}

impl std::fmt::Display for CertLink {
    /// `SERIAL:MEMBER`, the form kept in files.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.serial, self.member)
    }
}

impl std::str::FromStr for CertLink {
    type Err = AuthError;

    /// `SERIAL:MEMBER`: 32 and 64 hex digits.
    fn from_str(text: &str) -> Result<Self, AuthError> {
        let is_hex =
            |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
        match text.split_once(':') {
            Some((serial, member)) if is_hex(serial, 32) && is_hex(member, 64) => Ok(Self {
                serial: serial.to_ascii_lowercase(),
                member: member.to_ascii_lowercase(),
            }),
            _ => Err(AuthError::Malformed(format!(
                "expected SERIAL:MEMBER (32 and 64 hex digits), found {:.100}",
                text
            ))),
        }
    }
}

/// The certificate of a chain that a revocation list revokes: `depth` 0
/// is the leaf, 1 its issuer. Its text names the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedLink<'a> {
    pub depth: usize,
    pub link: &'a CertLink,
    /// [`RevokedKind::Serial`] or [`RevokedKind::Sub`] (its member id).
    pub by: RevokedKind,
}

impl std::fmt::Display for RevokedLink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let CertLink { serial, member } = self.link;
        match (self.depth, self.by) {
            (0, RevokedKind::Serial) => write!(f, "certificate {serial}"),
            (0, _) => write!(f, "member {member}"),
            (_, RevokedKind::Serial) => {
                write!(f, "issuer certificate {serial} (member {member})")
            }
            (_, _) => write!(f, "issuer {member} (certificate {serial})"),
        }
    }
}

impl Revocations {
    /// The first certificate of `chain` (leaf first) revoked by serial or
    /// by member id, if any.
    pub fn revoked_link<'a>(&self, chain: &'a [CertLink]) -> Option<RevokedLink<'a>> {
        chain.iter().enumerate().find_map(|(depth, link)| {
            let by = if self.contains(RevokedKind::Serial, &link.serial) {
                RevokedKind::Serial
            } else if self.contains(RevokedKind::Sub, &link.member) {
                RevokedKind::Sub
            } else {
                return None;
            };
            Some(RevokedLink { depth, link, by })
        })
    }
}

fn check_value(value: &str) -> Result<(), AuthError> {
    if value.is_empty()
        || value.len() > MAX_VALUE_LEN
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AuthError::Malformed(
            "a revoked value is 1 to 256 characters without spaces".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("revoked.txt");
        assert!(Revocations::load(&path).unwrap().is_empty());
        let mut list = Revocations::default();
        assert!(list.insert(RevokedKind::Jti, "abc").unwrap());
        assert!(!list.insert(RevokedKind::Jti, "abc").unwrap());
        list.insert(RevokedKind::Serial, "0A0B").unwrap();
        list.insert(RevokedKind::Sub, "bob").unwrap();
        list.save(&path).unwrap();
        let back = Revocations::load(&path).unwrap();
        assert_eq!(back, list);
        assert!(back.contains(RevokedKind::Serial, "0a0b"));
        assert!(!back.contains(RevokedKind::Sub, "abc"));
    }

    fn link(n: u8) -> CertLink {
        CertLink {
            serial: hex::encode([n; 16]),
            member: hex::encode([n; 32]),
        }
    }

    #[test]
    fn any_certificate_of_a_chain_revokes_it_and_is_named() {
        let chain = [link(1), link(2)];
        let mut list = Revocations::default();
        list.insert(RevokedKind::Jti, &chain[1].serial).unwrap();
        list.insert(RevokedKind::Serial, &link(3).serial).unwrap();
        assert_eq!(list.revoked_link(&chain), None, "other kinds, other chains");
        assert_eq!(list.revoked_link(&[]), None);

        let mut by_issuer = list.clone();
        by_issuer
            .insert(RevokedKind::Serial, &chain[1].serial)
            .unwrap();
        let found = by_issuer.revoked_link(&chain).unwrap();
        assert_eq!((found.depth, found.by), (1, RevokedKind::Serial));
        assert_eq!(
            found.to_string(),
            format!(
                "issuer certificate {} (member {})",
                chain[1].serial, chain[1].member
            )
        );
        let mut by_issuer_id = list.clone();
        by_issuer_id
            .insert(RevokedKind::Sub, &chain[1].member)
            .unwrap();
        let found = by_issuer_id.revoked_link(&chain).unwrap();
        assert_eq!((found.depth, found.by), (1, RevokedKind::Sub));
        assert!(
            found
                .to_string()
                .starts_with(&format!("issuer {}", chain[1].member))
        );

        // The leaf is named first when both are revoked, as before chains.
        let mut both = by_issuer.clone();
        both.insert(RevokedKind::Serial, &chain[0].serial.to_uppercase())
            .unwrap();
        let found = both.revoked_link(&chain).unwrap();
        assert_eq!(found.depth, 0);
        assert_eq!(
            found.to_string(),
            format!("certificate {}", chain[0].serial)
        );
        let mut leaf_id = list;
        leaf_id.insert(RevokedKind::Sub, &chain[0].member).unwrap();
        assert_eq!(
            leaf_id.revoked_link(&chain).unwrap().to_string(),
            format!("member {}", chain[0].member)
        );
    }

    #[test]
    fn links_read_back_from_their_text_and_refuse_anything_else() {
        let one = link(0xab);
        assert_eq!(one.to_string().parse::<CertLink>().unwrap(), one);
        let upper = one.to_string().to_uppercase().parse::<CertLink>().unwrap();
        assert_eq!(upper, one);
        for bad in [
            "",
            ":",
            "ab:cd",
            &one.serial,
            &format!("{}:{}x", one.serial, &one.member[1..]),
        ] {
            assert!(bad.parse::<CertLink>().is_err(), "{bad}");
        }
        let long = format!("{}:{}", "é".repeat(500), one.member);
        assert!(long.parse::<CertLink>().is_err());
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let err = Revocations::parse("# ok\njti a\nuser b\n", "r.txt").unwrap_err();
        assert!(err.to_string().starts_with("r.txt:3:"), "{err}");
        assert!(Revocations::parse("jti\n", "r").is_err());
        assert!(Revocations::parse(&format!("jti {}\n", "a".repeat(300)), "r").is_err());
    }
}
