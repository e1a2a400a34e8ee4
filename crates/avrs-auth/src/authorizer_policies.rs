//! ABAC policies through the admin API: list, set and remove the policies
//! kept in `policy_file`, applied at once to every later check and to live
//! sessions (they recheck on change). Policies of the config file are
//! listed but cannot be changed here.

use crate::audit::AuditEvent;
use crate::authorizer::Authorizer;
use crate::error::AuthError;
use crate::policy::PolicyRule;
use crate::policy_store::{self, MAX_API_POLICIES, PolicyEntries};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

/// Every policy the node evaluates, by where it comes from.
#[derive(Debug, Default)]
pub(crate) struct PolicyBook {
    /// From the config file, in file order (evaluated first).
    pub(crate) config: Vec<(PolicyRule, PolicyEntries)>,
    /// Set through the admin API, by name.
    pub(crate) api: BTreeMap<String, (PolicyRule, PolicyEntries)>,
    /// Where `api` is kept; `None` (embedded node): the API cannot set any.
    pub(crate) file: Option<PathBuf>,
}

impl PolicyBook {
    fn rules(&self) -> Vec<PolicyRule> {
        self.config
            .iter()
            .map(|(rule, _)| rule.clone())
            .chain(self.api.values().map(|(rule, _)| rule.clone()))
            .collect()
    }
}

/// A policy as the admin API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PolicyView {
    pub name: String,
    /// `config` (fixed) or `api`.
    pub source: &'static str,
    pub rule: PolicyEntries,
}

/// Why a policy change was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyChangeError {
    #[error("policy [{0}] is set in the config file; change it there")]
    FromConfig(String),
    #[error("no policy [{0}] was set through the API")]
    NotFound(String),
    #[error(transparent)]
    Invalid(AuthError),
    #[error("{0}")]
    Unavailable(String),
}

impl Authorizer {
    /// Every policy, config ones first.
    pub fn policy_list(&self) -> Vec<PolicyView> {
        let book = self.book();
        let view = |source| {
            move |(rule, entries): &(PolicyRule, PolicyEntries)| PolicyView {
                name: rule.name.clone(),
                source,
                rule: entries.clone(),
            }
        };
        book.config
            .iter()
            .map(view("config"))
            .chain(book.api.values().map(view("api")))
            .collect()
    }

    /// Sets policy `name` (new or replaced), saves the file and applies it.
    /// Returns whether it is new. `actor` is recorded in the audit log.
    pub fn put_policy(
        &self,
        name: &str,
        entries: PolicyEntries,
        actor: &str,
    ) -> Result<bool, PolicyChangeError> {
        let mut book = self.book();
        if book.config.iter().any(|(rule, _)| rule.name == name) {
            return Err(PolicyChangeError::FromConfig(name.to_owned()));
        }
        let file = book.file.clone().ok_or_else(|| {
            PolicyChangeError::Unavailable("this node keeps no policy file".into())
        })?;
        let rule = policy_store::rule_from_entries(name, &entries, "admin API")
            .map_err(PolicyChangeError::Invalid)?;
        if !book.api.contains_key(name) && book.api.len() >= MAX_API_POLICIES {
            return Err(PolicyChangeError::Unavailable(format!(
                "at most {MAX_API_POLICIES} policies through the API"
            )));
        }
        let mut updated = book.api.clone();
        let new = updated
            .insert(name.to_owned(), (rule, entries.clone()))
            .is_none();
        policy_store::save(&file, &updated).map_err(PolicyChangeError::Invalid)?;
        book.api = updated;
        self.apply_book(&book);
        drop(book);
        self.audit_policy("policy_set", name, actor, Some(&entries));
        Ok(new)
    }

    /// Removes policy `name` set through the API, saves and applies.
    pub fn delete_policy(&self, name: &str, actor: &str) -> Result<(), PolicyChangeError> {
        let mut book = self.book();
        if book.config.iter().any(|(rule, _)| rule.name == name) {
            return Err(PolicyChangeError::FromConfig(name.to_owned()));
        }
        if !book.api.contains_key(name) {
            return Err(PolicyChangeError::NotFound(name.to_owned()));
        }
        let file = book.file.clone().ok_or_else(|| {
            PolicyChangeError::Unavailable("this node keeps no policy file".into())
        })?;
        let mut updated = book.api.clone();
        updated.remove(name);
        policy_store::save(&file, &updated).map_err(PolicyChangeError::Invalid)?;
        book.api = updated;
        self.apply_book(&book);
        drop(book);
        self.audit_policy("policy_removed", name, actor, None);
        Ok(())
    }

    /// Makes `book` the policies in force and tells live sessions.
    pub(crate) fn apply_book(&self, book: &PolicyBook) {
        *self.policies.write().unwrap_or_else(|e| e.into_inner()) = book.rules();
        self.changes.send_modify(|n| *n += 1);
    }

    fn book(&self) -> std::sync::MutexGuard<'_, PolicyBook> {
        self.policy_book.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn audit_policy(
        &self,
        event: &'static str,
        name: &str,
        actor: &str,
        rule: Option<&PolicyEntries>,
    ) {
        let reason = rule.map(|entries| {
            entries
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        });
        self.audit.record(
            AuditEvent {
                event,
                subject: Some(actor.to_owned()),
                action: Some(format!("policy {name}")),
                result: "ok",
                reason,
                ..AuditEvent::default()
            },
            SystemTime::now(),
        );
    }
}
