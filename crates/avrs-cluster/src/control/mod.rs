//! Cluster control (`'C'`), sans-IO: the clusters a host or operator node
//! keeps ([`ClusterBook`]) and the answer to every typed cluster request
//! ([`ClusterBook::handle`]). Drivers (native sessions, the HTTP API) only
//! find out who asks ([`Actor`]), pass the request, send the [`Reply`],
//! save the book when it changed and apply the [`Effect`] on the real
//! roster. `docs/protocol.md` ("Cluster control semantics") is the table
//! of what each request does and answers.
//!
//! - `book`: the records and their bounds.
//! - `handle`: the rules, request by request.
//! - `persist`: the book as JSON (the node writes it atomically).
//! - `routes`: ROUTE_FIND and ROUTE_CHECK, answered from the gossip view
//!   and the node's relay trees rather than the book.
//! - `replica`, `sync`: an operator's copy of the host's book (BOOK_SYNC).

mod book;
mod handle;
mod persist;
mod replica;
mod routes;
mod sync;

#[cfg(test)]
mod tests;

pub use book::{
    ClusterBook, ClusterRecord, ContentRecord, MAX_CLUSTERS, MAX_CONTENTS, MAX_ENTRIES,
    MAX_MEMBERS, MAX_REQUESTS, MemberRecord, RequestRecord,
};
pub use persist::{MAX_BOOK_FILE, info_slot};
pub use replica::{ASK_THE_HOST, ReplicaMark};
pub use routes::{DEFAULT_ROUTE_LIMIT, Holders, answer_route_check, answer_route_find};
pub use sync::{BAD_OFFSET, BOOK_TOO_LARGE, NOT_SIGNED, Pulled, Puller, Snapshot};

use avrs_proto::avrs::{ClusterRequest, RetCode, RetCodePacket, Roles};
use avrs_proto::{Guuid, Hash32};

/// Who asks: a member id (a session's signer, a token's subject) and the
/// roles it holds on this node (roster roles, a token's role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub id: Hash32,
    pub roles: Roles,
}

/// What goes back to the asker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// An `'r'` packet: the code and its text tag.
    Code(RetCodePacket),
    /// A typed cluster packet: INFO, LIST_RESPONSE, CONTENT_LIST_RESPONSE,
    /// ROUTE_FIND_RESPONSE, ROUTE_CHECK_RESPONSE (boxed: far larger than a
    /// code).
    Packet(Box<ClusterRequest>),
}

impl Reply {
    /// The return code: SUCCESS for a typed packet.
    pub fn code(&self) -> RetCode {
        match self {
            Reply::Code(packet) => packet.code,
            Reply::Packet(_) => RetCode::Success,
        }
    }
}

/// A membership change the driver must carry over to the deployment's
/// roster when `cluster` is the deployment's own cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// MEMBER_REQUEST_APPROVE: `member` is in, with `roles`.
    Approved {
        cluster: Guuid,
        member: Hash32,
        roles: Roles,
    },
    /// MEMBER_REMOVE, or MEMBER_REQUEST_DEL: `member` is out, or its
    /// request is gone.
    Removed { cluster: Guuid, member: Hash32 },
    /// MEMBER_ROLE_ASSIGN.
    RolesAssigned {
        cluster: Guuid,
        member: Hash32,
        roles: Roles,
    },
}

impl Effect {
    /// The cluster it happened in.
    pub fn cluster(&self) -> Guuid {
        match *self {
            Effect::Approved { cluster, .. }
            | Effect::Removed { cluster, .. }
            | Effect::RolesAssigned { cluster, .. } => cluster,
        }
    }
}

/// The outcome of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub reply: Reply,
    /// The book changed: save it.
    pub changed: bool,
    pub effect: Option<Effect>,
}

impl Handled {
    fn refused(reply: RetCodePacket) -> Self {
        Self {
            reply: Reply::Code(reply),
            changed: false,
            effect: None,
        }
    }
}

/// The text tags of the replies, as `docs/protocol.md` lists them.
pub mod tags {
    pub const ROLE_NOT_ALLOWED: &str = "ROLE_NOT_ALLOWED";
    pub const NOT_OWNER: &str = "NOT_OWNER";
    pub const NOT_A_MEMBER: &str = "NOT_A_MEMBER";
    pub const ROLE_ESCALATION: &str = "ROLE_ESCALATION";
    pub const NO_SUCH_CLUSTER: &str = "NO_SUCH_CLUSTER";
    pub const NO_SUCH_REQUEST: &str = "NO_SUCH_REQUEST";
    pub const NO_SUCH_CONTENT: &str = "NO_SUCH_CONTENT";
    pub const NO_SUCH_FLOW: &str = "NO_SUCH_FLOW";
    pub const CLUSTER_EXISTS: &str = "CLUSTER_EXISTS";
    pub const CONTENT_EXISTS: &str = "CONTENT_EXISTS";
    pub const ALREADY_A_MEMBER: &str = "ALREADY_A_MEMBER";
    pub const OWNER_CANNOT_LEAVE: &str = "OWNER_CANNOT_LEAVE";
    pub const OWNER_CANNOT_BE_REMOVED: &str = "OWNER_CANNOT_BE_REMOVED";
    pub const DEPLOYMENT_CLUSTER: &str = "DEPLOYMENT_CLUSTER";
    pub const ZERO_ID: &str = "ZERO_ID";
    pub const NO_FRESH_ID: &str = "NO_FRESH_ID";
    pub const NOT_A_REQUEST: &str = "NOT_A_REQUEST";
    pub const BALANCE_NOT_HERE: &str = "BALANCE_REQUEST_NOT_HERE";
    pub const ROUTE_BY_RELAY_SESSION: &str = "ROUTE_BY_RELAY_SESSION";
    pub const ROUTE_NOT_HERE: &str = "ROUTE_REQUEST_NOT_HERE";
    pub const NO_HOLDER: &str = "NO_HOLDER";
    pub const NO_ROUTE: &str = "NO_ROUTE";
    pub const NOT_SUPPORTED: &str = "NOT_SUPPORTED";
    pub const TOO_MANY_CLUSTERS: &str = "TOO_MANY_CLUSTERS";
    pub const TOO_MANY_MEMBERS: &str = "TOO_MANY_MEMBERS";
    pub const TOO_MANY_REQUESTS: &str = "TOO_MANY_REQUESTS";
    pub const TOO_MANY_CONTENTS: &str = "TOO_MANY_CONTENTS";
    pub const BOOK_FULL: &str = "BOOK_FULL";
    pub const DESTROYED: &str = "DESTROYED";
    pub const CHANGED: &str = "CHANGED";
    pub const REQUEST_PENDING: &str = "REQUEST_PENDING";
    pub const REQUEST_WITHDRAWN: &str = "REQUEST_WITHDRAWN";
    pub const REQUEST_REJECTED: &str = "REQUEST_REJECTED";
    pub const LEFT: &str = "LEFT";
    pub const APPROVED: &str = "APPROVED";
    pub const REMOVED: &str = "REMOVED";
    pub const ROLES_ASSIGNED: &str = "ROLES_ASSIGNED";
    pub const CONTENT_ADDED: &str = "CONTENT_ADDED";
    pub const CONTENT_UPDATED: &str = "CONTENT_UPDATED";
    pub const CONTENT_REMOVED: &str = "CONTENT_REMOVED";
}
