//! Role-based access: which member roles may do each cluster, session and
//! administrative operation. [`allowed`] is the one table every layer asks;
//! `docs/security.md` prints the same table and a test checks they agree.
//!
//! Principles: the host owns the cluster and may do everything; operators
//! monitor and maintain (content take-down, routes, revocation, approving
//! and removing members) but never change the cluster's configuration or
//! its members' roles; servers serve and ingest
//! content; balancers route; clients only consume. The `publisher` token
//! role is a client that may also send content (`STREAMING_IN`).

use avrs_proto::avrs::Roles;

/// Every operation a subject can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    ClusterCreate,
    ClusterDestroy,
    ClusterChange,
    ClusterInfo,
    ClusterList,
    MemberRequestAdd,
    MemberRequestDel,
    MemberRequestApprove,
    MemberRemove,
    MemberRoleAssign,
    ClusterContentAdd,
    ClusterContentUpdate,
    ClusterContentDel,
    ClusterContentList,
    BalanceRequest,
    BalanceResponse,
    RouteAdd,
    RouteDel,
    RouteFind,
    RouteCheck,
    SessionOpen,
    SessionUpdate,
    SessionClose,
    /// Session CONTENT_ADD with `STREAMING_OUT`: play.
    SessionContentAddOut,
    /// Session CONTENT_ADD with `STREAMING_IN`: publish.
    SessionContentAddIn,
    SessionContentRemove,
    SessionContentUpdate,
    SessionClusterAdd,
    SessionClusterDel,
    SessionClusterUpdate,
    /// Read node state (streams, sessions, audit) through the admin API.
    AdminStatus,
    /// Revoke a token, subject or certificate.
    AdminRevoke,
    /// Change ABAC policies through the admin API.
    AdminPolicyChange,
    /// Change node or cluster configuration through the admin API.
    AdminConfigChange,
    /// Issue tokens or certificates on the node's behalf.
    AdminIssue,
}

use Operation as Op;

/// Role columns of the table, in the order the document prints them.
pub const COLUMNS: [(&str, Roles); 5] = [
    ("client", Roles::CLIENT),
    ("host", Roles::HOST),
    ("operator", Roles::OPERATOR),
    ("server", Roles::SERVER),
    ("balancer", Roles::BALANCER),
];

const C: u16 = Roles::CLIENT.bits();
const H: u16 = Roles::HOST.bits();
const O: u16 = Roles::OPERATOR.bits();
const S: u16 = Roles::SERVER.bits();
const B: u16 = Roles::BALANCER.bits();
const EVERY: u16 = C | H | O | S | B;

/// The table: operation, its name in documents and on the wire, the roles
/// that may do it.
pub const TABLE: [(Operation, &str, u16); 35] = [
    (Op::ClusterCreate, "cluster CREATE", H),
    (Op::ClusterDestroy, "cluster DESTROY", H),
    (Op::ClusterChange, "cluster CHANGE", H),
    (Op::ClusterInfo, "cluster INFO", EVERY),
    (Op::ClusterList, "cluster LIST_REQUEST", EVERY),
    (Op::MemberRequestAdd, "cluster MEMBER_REQUEST_ADD", EVERY),
    (Op::MemberRequestDel, "cluster MEMBER_REQUEST_DEL", EVERY),
    (
        Op::MemberRequestApprove,
        "cluster MEMBER_REQUEST_APPROVE",
        H | O,
    ),
    (Op::MemberRemove, "cluster MEMBER_REMOVE", H | O),
    (Op::MemberRoleAssign, "cluster MEMBER_ROLE_ASSIGN", H),
    (Op::ClusterContentAdd, "cluster CONTENT_ADD", H | S),
    (Op::ClusterContentUpdate, "cluster CONTENT_UPDATE", H | S),
    (Op::ClusterContentDel, "cluster CONTENT_DEL", H | O | S),
    (
        Op::ClusterContentList,
        "cluster CONTENT_LIST_REQUEST",
        EVERY,
    ),
    (Op::BalanceRequest, "cluster BALANCE_REQUEST", EVERY),
    (Op::BalanceResponse, "cluster BALANCE_RESPONSE", H | B),
    (Op::RouteAdd, "cluster ROUTE_ADD", H | O | B),
    (Op::RouteDel, "cluster ROUTE_DEL", H | O | B),
    (Op::RouteFind, "cluster ROUTE_FIND", EVERY),
    (Op::RouteCheck, "cluster ROUTE_CHECK", EVERY),
    (Op::SessionOpen, "session OPEN", EVERY),
    (Op::SessionUpdate, "session UPDATE", EVERY),
    (Op::SessionClose, "session CLOSE", EVERY),
    (
        Op::SessionContentAddOut,
        "session CONTENT_ADD STREAMING_OUT (play)",
        EVERY,
    ),
    (
        Op::SessionContentAddIn,
        "session CONTENT_ADD STREAMING_IN (publish)",
        H | S,
    ),
    (Op::SessionContentRemove, "session CONTENT_REMOVE", EVERY),
    (Op::SessionContentUpdate, "session CONTENT_UPDATE", H | S),
    (Op::SessionClusterAdd, "session CLUSTER_ADD", EVERY),
    (Op::SessionClusterDel, "session CLUSTER_DEL", EVERY),
    (
        Op::SessionClusterUpdate,
        "session CLUSTER_UPDATE",
        H | S | B,
    ),
    (Op::AdminStatus, "admin status", H | O),
    (Op::AdminRevoke, "admin revoke", H | O),
    (Op::AdminPolicyChange, "admin policy change", H),
    (Op::AdminConfigChange, "admin config change", H),
    (Op::AdminIssue, "admin issue token/certificate", H),
];

/// What the `publisher` token role adds to a client's rights.
pub const PUBLISHER_EXTRA: [Operation; 2] = [Op::SessionContentAddIn, Op::SessionContentUpdate];

impl Operation {
    /// The name used in documents, logs and the audit trail.
    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(op, _, _)| *op == self)
            .map_or("unknown operation", |(_, name, _)| name)
    }

    fn mask(self) -> u16 {
        TABLE
            .iter()
            .find(|(op, _, _)| *op == self)
            .map_or(0, |(_, _, mask)| *mask)
    }
}

/// Whether a member holding `roles` may do `op`: true when any of its roles
/// may. `Roles::ALL` (wire 0xFFFF) counts as every role.
pub fn allowed(roles: Roles, op: Operation) -> bool {
    roles.bits() & op.mask() != 0
}

/// The table as the Markdown `docs/security.md` holds, one row per
/// operation: `| operation | client | host | operator | server | balancer | publisher |`.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| operation | client | host | operator | server | balancer | publisher token |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|\n");
    for (op, name, mask) in TABLE {
        out.push_str("| ");
        out.push_str(name);
        out.push_str(" |");
        for (_, role) in COLUMNS {
            out.push_str(if mask & role.bits() != 0 {
                " yes |"
            } else {
                " no |"
            });
        }
        let publisher = allowed(Roles::CLIENT, op) || PUBLISHER_EXTRA.contains(&op);
        out.push_str(if publisher { " yes |\n" } else { " no |\n" });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_holds_the_same_table_as_the_code() {
        let doc = include_str!("../../../docs/security.md");
        let table = markdown_table();
        assert!(
            doc.contains(&table),
            "docs/security.md must contain exactly this RBAC table:\n{table}"
        );
    }

    #[test]
    fn every_operation_has_one_row() {
        for (i, (op, _, _)) in TABLE.iter().enumerate() {
            assert_eq!(
                TABLE.iter().filter(|(o, _, _)| o == op).count(),
                1,
                "row {i}"
            );
        }
    }

    #[test]
    fn principles_hold() {
        // Clients only consume.
        assert!(allowed(Roles::CLIENT, Op::SessionContentAddOut));
        assert!(!allowed(Roles::CLIENT, Op::SessionContentAddIn));
        assert!(!allowed(Roles::CLIENT, Op::ClusterContentAdd));
        // Operators maintain (and let members in or out) but do not change
        // the configuration or anyone's roles.
        assert!(allowed(Roles::OPERATOR, Op::AdminRevoke));
        assert!(allowed(Roles::OPERATOR, Op::ClusterContentDel));
        assert!(allowed(Roles::OPERATOR, Op::MemberRequestApprove));
        assert!(allowed(Roles::OPERATOR, Op::MemberRemove));
        assert!(!allowed(Roles::SERVER, Op::MemberRequestApprove));
        for op in [
            Op::ClusterChange,
            Op::ClusterCreate,
            Op::ClusterDestroy,
            Op::MemberRoleAssign,
            Op::AdminConfigChange,
            Op::AdminPolicyChange,
        ] {
            assert!(!allowed(Roles::OPERATOR, op), "{op:?}");
            assert!(allowed(Roles::HOST, op), "{op:?}");
        }
        // The host may do everything; nobody without a role may do anything.
        for (op, _, _) in TABLE {
            assert!(allowed(Roles::HOST, op), "{op:?}");
            assert!(allowed(Roles::ALL, op), "{op:?}");
            assert!(!allowed(Roles::empty(), op), "{op:?}");
        }
        // Several roles: any of them suffices.
        assert!(allowed(
            Roles::CLIENT | Roles::SERVER,
            Op::SessionContentAddIn
        ));
    }
}
