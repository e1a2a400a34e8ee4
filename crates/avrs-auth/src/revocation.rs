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

    #[test]
    fn bad_lines_name_file_and_line() {
        let err = Revocations::parse("# ok\njti a\nuser b\n", "r.txt").unwrap_err();
        assert!(err.to_string().starts_with("r.txt:3:"), "{err}");
        assert!(Revocations::parse("jti\n", "r").is_err());
        assert!(Revocations::parse(&format!("jti {}\n", "a".repeat(300)), "r").is_err());
    }
}
