//! What a client presents ([`Credential`]) and what an accepted request
//! holds while its session lives ([`Grant`]).

use crate::revocation::CertLink;
use crate::token::TokenRole;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// A credential as it arrived. Borrowed: nothing is copied before checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    None,
    Token(&'a str),
    StreamKey(&'a str),
}

impl<'a> Credential<'a> {
    /// From a `a=1&token=…&key=…` query (RTMP stream names, HTTP URLs):
    /// `token` first, then `key`. Values are not percent-decoded: tokens
    /// and keys only hold URL-safe characters.
    pub fn from_query(query: Option<&'a str>) -> Self {
        let value = |name: &str| {
            query?
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value)
        };
        match (value("token"), value("key")) {
            (Some(token), _) => Credential::Token(token),
            (None, Some(key)) => Credential::StreamKey(key),
            (None, None) => Credential::None,
        }
    }

    /// HTTP: an `Authorization: Bearer TOKEN` header, else the query.
    pub fn from_http(authorization: Option<&'a str>, query: Option<&'a str>) -> Self {
        let bearer = authorization.and_then(|h| {
            let (scheme, token) = h.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        });
        match bearer {
            Some(token) => Credential::Token(token),
            None => Self::from_query(query),
        }
    }
}

/// How a grant was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The node is open for this action.
    Open,
    /// Loopback (or a listed address) without a credential.
    Loopback,
    StreamKey,
    Token,
    Certificate,
}

impl Via {
    pub fn name(self) -> &'static str {
        match self {
            Via::Open => "open",
            Via::Loopback => "loopback",
            Via::StreamKey => "stream_key",
            Via::Token => "token",
            Via::Certificate => "certificate",
        }
    }
}

/// An accepted request. Holding it counts one session of its subject
/// (for `max_concurrent`); dropping it ends the count.
#[derive(Debug)]
pub struct Grant {
    pub via: Via,
    pub subject: String,
    pub role: Option<TokenRole>,
    pub jti: Option<String>,
    /// Unix seconds after which the grant ends (token `exp`, cert
    /// `not_after`).
    pub expires: Option<u64>,
    pub attrs: BTreeMap<String, String>,
    pub content: String,
    /// Certificate grants: every certificate of the path the grant rests
    /// on, leaf first (at most [`crate::cert::MAX_CHAIN`]); revoking any
    /// of them ends the grant. Empty for other grants.
    pub chain: Vec<CertLink>,
    pub(crate) lease: Option<SessionLease>,
}

impl Grant {
    pub(crate) fn anonymous(via: Via, content: &str) -> Self {
        Self {
            via,
            subject: via.name().to_owned(),
            role: None,
            jti: None,
            expires: None,
            attrs: BTreeMap::new(),
            content: content.to_owned(),
            chain: Vec::new(),
            lease: None,
        }
    }
}

/// Open sessions per subject.
#[derive(Debug, Default, Clone)]
pub(crate) struct SessionCounts(Arc<Mutex<HashMap<String, usize>>>);

impl SessionCounts {
    pub(crate) fn open(&self, subject: &str) -> usize {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(subject).copied().unwrap_or(0)
    }

    pub(crate) fn lease(&self, subject: &str) -> SessionLease {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(subject.to_owned()).or_default() += 1;
        SessionLease {
            counts: self.clone(),
            subject: subject.to_owned(),
        }
    }
}

/// One counted session; the count drops with it.
#[derive(Debug)]
pub(crate) struct SessionLease {
    counts: SessionCounts,
    subject: String,
}

impl Drop for SessionLease {
    fn drop(&mut self) {
        let mut map = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.subject) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.subject);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_queries_and_headers() {
        assert_eq!(
            Credential::from_query(Some("a=1&token=t.k.n&key=k")),
            Credential::Token("t.k.n")
        );
        assert_eq!(
            Credential::from_query(Some("key=k")),
            Credential::StreamKey("k")
        );
        assert_eq!(Credential::from_query(Some("x")), Credential::None);
        assert_eq!(Credential::from_query(None), Credential::None);
        assert_eq!(
            Credential::from_http(Some("Bearer abc"), Some("token=zzz")),
            Credential::Token("abc")
        );
        assert_eq!(
            Credential::from_http(Some("Basic abc"), Some("token=zzz")),
            Credential::Token("zzz")
        );
    }

    #[test]
    fn leases_count_sessions_per_subject() {
        let counts = SessionCounts::default();
        let a = counts.lease("alice");
        let b = counts.lease("alice");
        assert_eq!(counts.open("alice"), 2);
        drop(a);
        assert_eq!(counts.open("alice"), 1);
        drop(b);
        assert_eq!(counts.open("alice"), 0);
    }
}
