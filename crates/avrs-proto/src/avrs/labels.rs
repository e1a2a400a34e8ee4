//! The `what` labels AVRS decoders put in their [`ProtoError`]s.
//!
//! Every argument has its own label, so an error names the item that was
//! wrong, and [`crate::avrs::retcode_for`] can pick the return code from the
//! label alone. Compare errors against these constants, never against text.

use crate::error::ProtoError;

/// The channel-header sub-type byte.
pub const SUBTYPE: &str = "AVRS sub-type";
/// The type byte of a cluster packet.
pub const CLUSTER_TYPE: &str = "cluster packet type";
/// The type byte of a session packet.
pub const SESSION_TYPE: &str = "session packet type";
/// A typed request decoded from a packet of another type.
pub const REQUEST_TYPE: &str = "request type";
/// The 8-byte header of a cluster or session packet.
pub const CONTROL_HEADER: &str = "control packet header";
/// A TSD code that the cluster argument table does not define.
pub const CLUSTER_ARG: &str = "cluster argument";
/// A TSD code that the session argument table does not define.
pub const SESSION_ARG: &str = "session argument";
/// A defined argument that this packet type does not take.
pub const ARG_NOT_ALLOWED: &str = "argument not allowed for this packet type";
/// The SIGN item (placement, presence).
pub const SIGN: &str = "SIGN item";

/// Cluster `ID`.
pub const CLUSTER_ID: &str = "cluster ID";
/// Cluster `TITLE`.
pub const CLUSTER_TITLE: &str = "cluster title";
/// Cluster `SETUP`.
pub const CLUSTER_SETUP: &str = "cluster setup";
/// Cluster `ENCRYPTED`.
pub const ENCRYPTED: &str = "encrypted flag";
/// A `CHANGE` without anything to change.
pub const CLUSTER_CHANGE: &str = "cluster change";
/// `MEMBER`, a member id.
pub const MEMBER: &str = "member id";
/// `MEMBER_ROLE`.
pub const MEMBER_ROLE: &str = "member role";
/// `MEMBER_ADDR`.
pub const MEMBER_ADDR: &str = "member address";
/// `SERVICE_ADDR`.
pub const SERVICE_ADDR: &str = "service address";
/// `ROUTE_LIMIT`.
pub const ROUTE_LIMIT: &str = "route limit";
/// `ROUTE_CANDIDATE`.
pub const ROUTE_CANDIDATE: &str = "route candidate";
/// `ROUTE_STATE`.
pub const ROUTE_STATE: &str = "route state";
/// `ROUTE_UPSTREAM`.
pub const ROUTE_UPSTREAM: &str = "route upstream";
/// Any of the seven member info strings.
pub const MEMBER_INFO: &str = "member info";
/// `AVATAR`.
pub const AVATAR: &str = "member avatar";
/// A role mask (wire `u16`).
pub const ROLE_MASK: &str = "role mask";

/// Cluster `CONTENT_ID`, a content GUUID.
pub const CONTENT_ID: &str = "content GUUID";
/// Cluster `CONTENT_TITEL`.
pub const CONTENT_TITLE: &str = "content title";
/// Cluster `CONTENT_FLOWS`.
pub const CONTENT_FLOWS: &str = "content flows";
/// Cluster `CONTENT_FLOW_CODEC`.
pub const FLOW_CODEC: &str = "flow codec";
/// A flow id (content packets and flow codecs).
pub const FLOW_ID: &str = "flow id";
/// Content kind flags (LIVE, LOCAL, NATIVE, PROXY).
pub const CONTENT_KIND: &str = "content kind flags";
/// Content subtype constant.
pub const CONTENT_SUBTYPE: &str = "content subtype";
/// Per-session content state.
pub const CONTENT_STATE: &str = "content state";

/// Session `CLUSTER_UUID`.
pub const SESSION_CLUSTER: &str = "session cluster UUID";
/// Session `CONTENT_UUID`.
pub const SESSION_CONTENT: &str = "session content UUID";
/// Session `CONTENT_ID`, the session-local u32 handle.
pub const SESSION_CONTENT_ID: &str = "session content id";
/// Session `CONTENT_FLAGS`.
pub const SESSION_CONTENT_FLAGS: &str = "session content flags";

/// The 8-byte header of a content packet.
pub const CONTENT_HEADER: &str = "content packet header";

/// The `what` of an error, if it has one.
pub fn label_of(err: &ProtoError) -> Option<&'static str> {
    match err {
        ProtoError::Incomplete { .. } | ProtoError::Replay { .. } => None,
        ProtoError::Unauthenticated { what } => Some(what),
        ProtoError::Truncated { what, .. }
        | ProtoError::TooLarge { what, .. }
        | ProtoError::TooMany { what, .. }
        | ProtoError::WrongSize { what, .. }
        | ProtoError::UnknownValue { what, .. }
        | ProtoError::BadString { what, .. }
        | ProtoError::Missing { what }
        | ProtoError::Duplicate { what }
        | ProtoError::TrailingBytes { what, .. }
        | ProtoError::Malformed { what, .. } => Some(what),
    }
}

/// The same error with `what` replaced, so a generic getter's failure
/// ("u32 item") names the argument it was reading ("session content id").
pub fn relabel(err: ProtoError, label: &'static str) -> ProtoError {
    use ProtoError as E;
    match err {
        E::Incomplete { needed } => E::Incomplete { needed },
        E::Replay { seq_id, last } => E::Replay { seq_id, last },
        E::Unauthenticated { .. } => E::Unauthenticated { what: label },
        E::Truncated { need, have, .. } => E::Truncated {
            what: label,
            need,
            have,
        },
        E::TooLarge { size, max, .. } => E::TooLarge {
            what: label,
            size,
            max,
        },
        E::TooMany { max, .. } => E::TooMany { what: label, max },
        E::WrongSize {
            expected, actual, ..
        } => E::WrongSize {
            what: label,
            expected,
            actual,
        },
        E::UnknownValue { value, .. } => E::UnknownValue { what: label, value },
        E::BadString { reason, .. } => E::BadString {
            what: label,
            reason,
        },
        E::Missing { .. } => E::Missing { what: label },
        E::Duplicate { .. } => E::Duplicate { what: label },
        E::TrailingBytes { extra, .. } => E::TrailingBytes { what: label, extra },
        E::Malformed { reason, .. } => E::Malformed {
            what: label,
            reason,
        },
    }
}

/// A closure for `map_err` that relabels.
pub(crate) fn labelled(label: &'static str) -> impl Fn(ProtoError) -> ProtoError {
    move |err| relabel(err, label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_variant() -> Vec<ProtoError> {
        vec![
            ProtoError::Incomplete { needed: 1 },
            ProtoError::Truncated {
                what: "x",
                need: 2,
                have: 1,
            },
            ProtoError::TooLarge {
                what: "x",
                size: 9,
                max: 8,
            },
            ProtoError::TooMany { what: "x", max: 3 },
            ProtoError::WrongSize {
                what: "x",
                expected: 4,
                actual: 5,
            },
            ProtoError::UnknownValue {
                what: "x",
                value: 7,
            },
            ProtoError::BadString {
                what: "x",
                reason: "r",
            },
            ProtoError::Missing { what: "x" },
            ProtoError::Duplicate { what: "x" },
            ProtoError::TrailingBytes {
                what: "x",
                extra: 1,
            },
            ProtoError::Malformed {
                what: "x",
                reason: "r",
            },
        ]
    }

    #[test]
    fn relabel_changes_only_the_label() {
        for err in every_variant() {
            let relabelled = relabel(err.clone(), MEMBER_INFO);
            if matches!(err, ProtoError::Incomplete { .. }) {
                assert_eq!(relabelled, err);
                assert_eq!(label_of(&relabelled), None);
                continue;
            }
            assert_eq!(label_of(&err), Some("x"));
            assert_eq!(label_of(&relabelled), Some(MEMBER_INFO));
            // Putting the old label back gives the original error.
            assert_eq!(relabel(relabelled, "x"), err);
        }
    }
}
