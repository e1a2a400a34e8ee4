//! Attribute-based rules (`[policy.NAME]` sections), evaluated on every
//! publish, play and admin request after the credential is accepted.
//!
//! A rule matches when every condition it states holds. Deny overrides: any
//! matching deny rule refuses. Otherwise, when some allow rule covers the
//! action, one of them must match; with no allow rule for the action the
//! credential alone decides. Every decision names the rule behind it.

use crate::content;
use crate::token::TokenRole;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// What a request wants to do, as rules name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Publish,
    Play,
    Admin,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Publish => "publish",
            Action::Play => "play",
            Action::Admin => "admin",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        [Self::Publish, Self::Play, Self::Admin]
            .into_iter()
            .find(|a| a.name() == word)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// An address range `ADDR/BITS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub bits: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, bits) = match text.split_once('/') {
            Some((a, b)) => (a.parse::<IpAddr>().ok()?, b.parse::<u8>().ok()?),
            None => {
                let addr = text.parse::<IpAddr>().ok()?;
                (addr, if addr.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Self { addr, bits })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // IPv4-mapped IPv6 peers count as their IPv4 address.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (a, b, width) = match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                (u128::from(u32::from(a)), u128::from(u32::from(b)), 32)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
            _ => return false,
        };
        let shift = width - u32::from(self.bits);
        shift >= 128 || (a >> shift) == (b >> shift)
    }
}

/// One `[policy.NAME]` section, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    pub name: String,
    pub effect: Effect,
    /// Empty: every action.
    pub actions: Vec<Action>,
    /// Content pattern; `None`: any content.
    pub content: Option<String>,
    /// Token roles; empty: any (and requests without a token).
    pub roles: Vec<TokenRole>,
    /// Subject attributes that must all equal these values.
    pub subject_attrs: BTreeMap<String, String>,
    /// Peer address ranges; empty: any address.
    pub cidrs: Vec<Cidr>,
    /// Allowed values of the subject's `region` attribute; empty: any.
    pub regions: Vec<String>,
    /// UTC hours `[start, end)`; `start > end` wraps past midnight.
    pub hours: Option<(u8, u8)>,
    /// Days of the week, bit 0 = Sunday; 0: any day.
    pub days: u8,
    /// Deny rules match while the subject holds at least this many
    /// sessions; allow rules while it holds fewer.
    pub max_concurrent: Option<usize>,
}

/// What a rule is asked about.
#[derive(Debug, Clone)]
pub struct PolicyRequest<'a> {
    pub action: Action,
    pub content: &'a str,
    pub role: Option<TokenRole>,
    pub attrs: &'a BTreeMap<String, String>,
    pub peer: IpAddr,
    pub now: u64,
    /// Sessions the subject holds open now (this one not counted).
    pub open_sessions: usize,
}

/// The outcome and the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub rule: Option<String>,
    pub reason: String,
}

impl PolicyRule {
    /// Whether the request is one this rule talks about and every
    /// condition holds.
    pub fn matches(&self, r: &PolicyRequest<'_>) -> bool {
        let covers = self.actions.is_empty() || self.actions.contains(&r.action);
        let content = self
            .content
            .as_deref()
            .is_none_or(|p| content::matches(p, r.content));
        let role = self.roles.is_empty() || r.role.is_some_and(|role| self.roles.contains(&role));
        let attrs = self
            .subject_attrs
            .iter()
            .all(|(k, v)| r.attrs.get(k) == Some(v));
        let cidr = self.cidrs.is_empty() || self.cidrs.iter().any(|c| c.contains(r.peer));
        let region = self.regions.is_empty()
            || r.attrs
                .get("region")
                .is_some_and(|g| self.regions.contains(g));
        let hour = ((r.now % 86_400) / 3_600) as u8;
        let hours = self.hours.is_none_or(|(start, end)| {
            if start <= end {
                (start..end).contains(&hour)
            } else {
                hour >= start || hour < end
            }
        });
        // 1970-01-01 was a Thursday (day 4 with Sunday = 0).
        let weekday = ((r.now / 86_400 + 4) % 7) as u8;
        let days = self.days == 0 || self.days & (1 << weekday) != 0;
        let sessions = self.max_concurrent.is_none_or(|max| match self.effect {
            Effect::Deny => r.open_sessions >= max,
            Effect::Allow => r.open_sessions < max,
        });
        covers && content && role && attrs && cidr && region && hours && days && sessions
    }
}

/// Deny-overrides evaluation of `rules` (file order) for `request`.
pub fn evaluate(rules: &[PolicyRule], request: &PolicyRequest<'_>) -> Decision {
    if let Some(rule) = rules
        .iter()
        .find(|r| r.effect == Effect::Deny && r.matches(request))
    {
        let reason = match rule.max_concurrent {
            Some(max) => format!(
                "{} at most {max} concurrent sessions",
                request.action.name()
            ),
            None => format!("{} denied by rule", request.action.name()),
        };
        return Decision {
            allowed: false,
            rule: Some(rule.name.clone()),
            reason,
        };
    }
    let mut allow_rules = rules.iter().filter(|r| {
        r.effect == Effect::Allow && (r.actions.is_empty() || r.actions.contains(&request.action))
    });
    let mut any_allow = false;
    for rule in allow_rules.by_ref() {
        any_allow = true;
        if rule.matches(request) {
            return Decision {
                allowed: true,
                rule: Some(rule.name.clone()),
                reason: "allowed by rule".into(),
            };
        }
    }
    if any_allow {
        return Decision {
            allowed: false,
            rule: None,
            reason: format!("no allow rule matches this {}", request.action.name()),
        };
    }
    Decision {
        allowed: true,
        rule: None,
        reason: "no rule applies; the credential decides".into(),
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
