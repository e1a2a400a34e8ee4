//! Policies managed through the admin API: `[policy.NAME]` sections in
//! `policy_file` (default `DATA_DIR/policies.ini`), evaluated after those
//! of the config file, which the API cannot change. The file is written
//! atomically on every change and read at start.

use crate::config::parse_policy;
use crate::error::AuthError;
use crate::policy::PolicyRule;
use avrs_config::ExtensionSection;
use avrs_config::ini::{Document, Entry, Section};
use std::collections::BTreeMap;
use std::path::Path;

/// A policy's keys and values as written (`effect`, `actions`, …).
pub type PolicyEntries = BTreeMap<String, String>;

/// Most policies the API keeps; most bytes in one value.
pub const MAX_API_POLICIES: usize = 256;
const MAX_VALUE: usize = 1024;

/// A policy name: 1 to 64 letters, digits, `-` or `_`.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks `entries` as the config file's `[policy.NAME]` would be checked
/// (same keys, same messages); `file` names where they come from.
pub fn rule_from_entries(
    name: &str,
    entries: &PolicyEntries,
    file: &str,
) -> Result<PolicyRule, AuthError> {
    if !valid_name(name) {
        return Err(AuthError::Malformed(
            "a policy name is 1 to 64 letters, digits, '-' or '_'".into(),
        ));
    }
    for (key, value) in entries {
        // One line per key in the file: nothing may start another.
        if value.len() > MAX_VALUE || value.chars().any(char::is_control) {
            return Err(AuthError::Malformed(format!(
                "policy key {key:?}: a value is one line of at most {MAX_VALUE} bytes"
            )));
        }
    }
    let section = ExtensionSection {
        file: file.to_owned(),
        section: Section {
            name: format!("policy.{name}"),
            line: 1,
            entries: entries
                .iter()
                .enumerate()
                .map(|(i, (key, value))| Entry {
                    key: key.clone(),
                    value: value.trim().to_owned(),
                    line: i + 2,
                })
                .collect(),
        },
    };
    parse_policy(&section)
}

/// The API's policies in `path` (none when the file does not exist).
pub fn load(path: &Path) -> Result<BTreeMap<String, (PolicyRule, PolicyEntries)>, AuthError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(err) => {
            return Err(AuthError::Config(format!(
                "cannot read {}: {err}",
                path.display()
            )));
        }
    };
    parse(&bytes, &path.display().to_string())
}

/// The policies of a `policy_file`'s bytes; `file` names it in errors.
pub fn parse(
    bytes: &[u8],
    file: &str,
) -> Result<BTreeMap<String, (PolicyRule, PolicyEntries)>, AuthError> {
    let file = file.to_owned();
    let document = Document::parse(bytes, &file).map_err(|e| AuthError::Config(e.to_string()))?;
    let mut policies = BTreeMap::new();
    for section in &document.sections {
        let Some(name) = section.name.strip_prefix("policy.") else {
            return Err(AuthError::Config(format!(
                "{file}:{}: only [policy.NAME] sections belong here, not [{}]",
                section.line, section.name
            )));
        };
        let entries: PolicyEntries = section
            .entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect();
        let rule = parse_policy(&ExtensionSection {
            file: file.clone(),
            section: section.clone(),
        })?;
        policies.insert(name.to_owned(), (rule, entries));
    }
    Ok(policies)
}

/// Writes the API's policies to `path` (temporary file, fsync, rename).
pub fn save(
    path: &Path,
    policies: &BTreeMap<String, (PolicyRule, PolicyEntries)>,
) -> Result<(), AuthError> {
    let mut text = String::from("# Policies set through the admin API (avrs). Edit with care.\n");
    for (name, (_, entries)) in policies {
        text.push_str(&format!("\n[policy.{name}]\n"));
        for (key, value) in entries {
            text.push_str(&format!("{key} = {value}\n"));
        }
    }
    crate::files::write_atomic(path, text.as_bytes(), true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Effect;

    fn entries(pairs: &[(&str, &str)]) -> PolicyEntries {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn policies_round_trip_through_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policies.ini");
        assert!(load(&path).unwrap().is_empty(), "no file: no policy");
        let lan = entries(&[
            ("effect", "deny"),
            ("actions", "play"),
            ("cidr", "10.0.0.0/8"),
        ]);
        let rule = rule_from_entries("no-lan", &lan, "api").unwrap();
        assert_eq!(rule.effect, Effect::Deny);
        let mut all = BTreeMap::new();
        all.insert("no-lan".to_owned(), (rule.clone(), lan.clone()));
        save(&path, &all).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back["no-lan"].1, lan);
        assert_eq!(back["no-lan"].0, rule);
    }

    #[test]
    fn bad_policies_are_refused_with_the_reason() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case<'_>] = &[
            ("bad name!", &[("effect", "deny")], "policy name"),
            ("x", &[("actions", "play")], "effect"),
            ("x", &[("effect", "maybe")], "allow or deny"),
            ("x", &[("effect", "deny"), ("colour", "red")], "unknown key"),
            ("x", &[("effect", "deny\n[auth]\nplay = open")], "one line"),
            (
                "x",
                &[("effect", "deny"), ("cidr", "10.0.0.0/99")],
                "address ranges",
            ),
        ];
        for (name, pairs, expected) in cases {
            let err = rule_from_entries(name, &entries(pairs), "api").unwrap_err();
            assert!(
                err.to_string().contains(expected),
                "{name} {pairs:?}: {err}"
            );
        }
    }

    #[test]
    fn a_file_with_other_sections_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policies.ini");
        std::fs::write(&path, "[auth]\nplay = open\n").unwrap();
        let err = load(&path).unwrap_err();
        assert!(err.to_string().contains("only [policy.NAME]"), "{err}");
    }
}
