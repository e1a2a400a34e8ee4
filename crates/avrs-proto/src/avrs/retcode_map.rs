//! Which return code answers a packet that failed to decode.
//!
//! The mapping reads the error's label ([`crate::avrs::labels`]), so it is
//! one table here rather than a decision at every call site.

use super::labels;
use super::retcode::RetCode;
use super::subtype::SubType;
use crate::error::ProtoError;

/// The return code to send for a decoding error of a packet of `subtype`.
///
/// | error | code |
/// |---|---|
/// | unknown cluster type / request of another type on `'C'` | `CLUSTER_WRONG_REQUEST` |
/// | unknown session type / request of another type on `'S'` | `SESSION_WRONG_REQUEST` |
/// | SIGN missing (`Missing` "SIGN item") | `SIGN_NOT_PRESENT` |
/// | SIGN misplaced (an item after it) | `SIGN_INCORRECT` |
/// | member info string, avatar or address bad or oversized | `MEMBER_INFO_PROBLEM` |
/// | flow id out of range | `CONTENT_FLOW_WRONG_ID` |
/// | flows string, flow codec or content title bad | `CONTENT_INFO_CORRUPTED` |
/// | session CONTENT_ID missing or bad | `SESSION_CONTENT_ID_WRONG` |
/// | anything else on `'c'` | `CONTENT_CORRUPTED` |
/// | anything else on `'C'`, `'S'` or `'r'` | `ARG_INCORRECT` |
///
/// Never answer an `'r'` packet with another one; its row exists only so
/// the function is total. Packets with an unknown sub-type get no reply.
pub fn retcode_for(err: &ProtoError, subtype: SubType) -> RetCode {
    let Some(label) = labels::label_of(err) else {
        return fallback(subtype);
    };
    match label {
        labels::CLUSTER_TYPE => RetCode::ClusterWrongRequest,
        labels::SESSION_TYPE => RetCode::SessionWrongRequest,
        labels::REQUEST_TYPE => match subtype {
            SubType::Session => RetCode::SessionWrongRequest,
            _ => RetCode::ClusterWrongRequest,
        },
        labels::SIGN if matches!(err, ProtoError::Missing { .. }) => RetCode::SignNotPresent,
        labels::SIGN => RetCode::SignIncorrect,
        labels::MEMBER_INFO | labels::AVATAR | labels::MEMBER_ADDR => RetCode::MemberInfoProblem,
        labels::FLOW_ID => RetCode::ContentFlowWrongId,
        labels::CONTENT_FLOWS | labels::FLOW_CODEC | labels::CONTENT_TITLE => {
            RetCode::ContentInfoCorrupted
        }
        labels::SESSION_CONTENT_ID => RetCode::SessionContentIdWrong,
        _ => fallback(subtype),
    }
}

fn fallback(subtype: SubType) -> RetCode {
    match subtype {
        SubType::Content => RetCode::ContentCorrupted,
        _ => RetCode::ArgIncorrect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avrs::cluster::{self, ClusterType};
    use crate::avrs::session::{self, SessionType};
    use crate::avrs::{ControlBuilder, ControlPacket, Request, labels::*};

    fn missing(what: &'static str) -> ProtoError {
        ProtoError::Missing { what }
    }

    #[test]
    fn labels_are_distinct() {
        let all = [
            SUBTYPE,
            CLUSTER_TYPE,
            SESSION_TYPE,
            REQUEST_TYPE,
            CONTROL_HEADER,
            CLUSTER_ARG,
            SESSION_ARG,
            ARG_NOT_ALLOWED,
            SIGN,
            CLUSTER_ID,
            CLUSTER_TITLE,
            CLUSTER_SETUP,
            ENCRYPTED,
            CLUSTER_CHANGE,
            MEMBER,
            MEMBER_ROLE,
            MEMBER_ADDR,
            MEMBER_INFO,
            AVATAR,
            ROLE_MASK,
            SERVICE_ADDR,
            ROUTE_LIMIT,
            ROUTE_CANDIDATE,
            ROUTE_STATE,
            ROUTE_UPSTREAM,
            CONTENT_ID,
            CONTENT_TITLE,
            CONTENT_FLOWS,
            FLOW_CODEC,
            FLOW_ID,
            CONTENT_KIND,
            CONTENT_SUBTYPE,
            CONTENT_STATE,
            SESSION_CLUSTER,
            SESSION_CONTENT,
            SESSION_CONTENT_ID,
            SESSION_CONTENT_FLAGS,
            CONTENT_HEADER,
        ];
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn mapping_table() {
        use RetCode as R;
        use SubType::{Cluster as C, Content as Cc, RetCode as Rr, Session as S};
        let unknown = |what| ProtoError::UnknownValue { what, value: 9 };
        let too_large = |what| ProtoError::TooLarge {
            what,
            size: 64,
            max: 63,
        };
        let rows: Vec<(ProtoError, SubType, RetCode)> = vec![
            (unknown(CLUSTER_TYPE), C, R::ClusterWrongRequest),
            (unknown(SESSION_TYPE), S, R::SessionWrongRequest),
            (missing(SIGN), C, R::SignNotPresent),
            (missing(SIGN), S, R::SignNotPresent),
            (
                ProtoError::Malformed {
                    what: SIGN,
                    reason: "r",
                },
                C,
                R::SignIncorrect,
            ),
            (too_large(MEMBER_INFO), C, R::MemberInfoProblem),
            (too_large(AVATAR), C, R::MemberInfoProblem),
            (missing(MEMBER_ADDR), C, R::MemberInfoProblem),
            (unknown(FLOW_ID), Cc, R::ContentFlowWrongId),
            (unknown(FLOW_ID), C, R::ContentFlowWrongId),
            (missing(CONTENT_FLOWS), C, R::ContentInfoCorrupted),
            (missing(FLOW_CODEC), C, R::ContentInfoCorrupted),
            (too_large(CONTENT_TITLE), C, R::ContentInfoCorrupted),
            (missing(SESSION_CONTENT_ID), S, R::SessionContentIdWrong),
            (missing(CLUSTER_ID), C, R::ArgIncorrect),
            (unknown(ROUTE_LIMIT), C, R::ArgIncorrect),
            (missing(ROUTE_CANDIDATE), C, R::ArgIncorrect),
            (unknown(ROUTE_STATE), C, R::ArgIncorrect),
            (missing(ROUTE_UPSTREAM), C, R::ArgIncorrect),
            (unknown(CLUSTER_ARG), C, R::ArgIncorrect),
            (unknown(ARG_NOT_ALLOWED), S, R::ArgIncorrect),
            (missing(CONTENT_HEADER), Cc, R::ContentCorrupted),
            (
                ProtoError::Incomplete { needed: 1 },
                Cc,
                R::ContentCorrupted,
            ),
            (ProtoError::Incomplete { needed: 1 }, C, R::ArgIncorrect),
            (unknown("return code"), Rr, R::ArgIncorrect),
        ];
        for (err, subtype, code) in rows {
            assert_eq!(retcode_for(&err, subtype), code, "{err} on {subtype}");
        }
    }

    #[test]
    fn real_decoding_errors_map_as_documented() {
        // Unknown cluster type.
        let err = ControlPacket::<ClusterType>::decode(&[0x60, 0, 0, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(
            retcode_for(&err, SubType::Cluster),
            RetCode::ClusterWrongRequest
        );
        // Typed request read from a packet of another type.
        let bytes = ControlBuilder::new(SessionType::Close).finish();
        let packet = ControlPacket::<SessionType>::decode(&bytes).unwrap();
        let err = session::ContentRemove::from_packet(&packet).unwrap_err();
        assert_eq!(
            retcode_for(&err, SubType::Session),
            RetCode::SessionWrongRequest
        );
        // CONTENT_REMOVE without CONTENT_ID.
        let bytes = ControlBuilder::new(SessionType::ContentRemove).finish();
        let packet = ControlPacket::<SessionType>::decode(&bytes).unwrap();
        let err = session::ContentRemove::from_packet(&packet).unwrap_err();
        assert_eq!(
            retcode_for(&err, SubType::Session),
            RetCode::SessionContentIdWrong
        );
        // OPEN without SIGN.
        let bytes = ControlBuilder::new(SessionType::Open).finish();
        let packet = ControlPacket::<SessionType>::decode(&bytes).unwrap();
        let err = session::Open::from_packet(&packet).unwrap_err();
        assert_eq!(retcode_for(&err, SubType::Session), RetCode::SignNotPresent);
        // A 64-byte member name.
        let mut b = ControlBuilder::new(ClusterType::MemberRequestAdd);
        b.args_mut().put_guuid(0x0001, crate::Guuid::new(1, 1));
        b.args_mut().put_str(0x0017, &"n".repeat(64)).unwrap();
        let bytes = b.finish();
        let packet = ControlPacket::<ClusterType>::decode(&bytes).unwrap();
        let err = cluster::MemberRequestAdd::from_packet(&packet).unwrap_err();
        assert_eq!(
            retcode_for(&err, SubType::Cluster),
            RetCode::MemberInfoProblem
        );
    }
}
