//! The cluster id: a short name or a GUUID.

use super::Problem;
use avrs_proto::Guuid;
use std::fmt;

/// Which cluster this node belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClusterId {
    /// A name of 1 to 63 ASCII letters, digits, `_`, `.` and `-`, such as
    /// `main_cluster`.
    Name(String),
    /// A GUUID written `NET_ID-SRV_ID`, 16 hex digits each.
    Guuid(Guuid),
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterId::Name(name) => f.write_str(name),
            ClusterId::Guuid(guuid) => write!(f, "{guuid}"),
        }
    }
}

const MAX_NAME_LEN: usize = 63;

/// Reads a cluster id. Text shaped like a GUUID (16 hex digits, `-`, 16 hex
/// digits) is a GUUID; anything else must be a name.
pub(crate) fn cluster_id(text: &str) -> Result<ClusterId, Problem> {
    if looks_like_guuid(text)
        && let Ok(guuid) = text.parse::<Guuid>()
    {
        return Ok(ClusterId::Guuid(guuid));
    }
    let name_ok = (1..=MAX_NAME_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if name_ok {
        Ok(ClusterId::Name(text.to_owned()))
    } else {
        Err(Problem::expected(
            "a name of 1 to 63 letters, digits, '_', '.' and '-', \
             or a GUUID such as 0123456789ABCDEF-0123456789ABCDEF",
        ))
    }
}

/// Checked before `Guuid::from_str`, which (through `from_str_radix`) would
/// also take a leading `+`.
fn looks_like_guuid(text: &str) -> bool {
    text.split_once('-').is_some_and(|(net, srv)| {
        [net, srv]
            .iter()
            .all(|half| half.len() == 16 && half.bytes().all(|b| b.is_ascii_hexdigit()))
    })
}
