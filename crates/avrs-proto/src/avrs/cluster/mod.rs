//! Cluster control (`'C'`): code tables and typed requests.
//!
//! Every request reads its arguments in one pass: each item must be a
//! defined cluster argument (else `UnknownValue` "cluster argument"), one
//! that this type takes (else "argument not allowed"), and appear once
//! unless the type repeats it (lists, codecs).

/// A request whose only argument is the cluster ID.
macro_rules! id_only_request {
    ($doc:literal, $name:ident, $kind:expr) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            pub id: Guuid,
        }

        impl Request for $name {
            type Kind = ClusterType;
            const KIND: ClusterType = $kind;

            fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
                super::put_id(args, self.id);
                Ok(())
            }

            fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
                Ok(Self {
                    id: super::read_only_id(items)?,
                })
            }
        }
    };
}

mod balance;
mod book_sync;
mod contents;
mod lifecycle;
mod members;
mod routes;
mod types;

#[cfg(test)]
mod routes_tests;
#[cfg(test)]
mod tests;

pub use balance::{BalanceRequest, BalanceResponse, MAX_EXCLUDED};
pub use book_sync::{
    BOOK_NONCE_SIZE, BookChunk, BookStamp, BookSync, BookSyncResponse, MAX_BOOK_CHUNK,
    MAX_BOOK_SIZE,
};
pub use contents::{
    ContentAdd, ContentDel, ContentListRequest, ContentListResponse, ContentUpdate,
};
pub use lifecycle::{Change, ClusterOptions, Create, Destroy, Info, ListRequest, ListResponse};
pub use members::{
    MemberApprove, MemberInfo, MemberRemove, MemberRequestAdd, MemberRequestDel, RoleAssign,
};
pub use routes::{
    MAX_ROUTE_CANDIDATES, ParentCandidate, RouteCheck, RouteCheckResponse, RouteFind,
    RouteFindResponse, RouteState, RouteUpstream,
};
pub use types::{
    CLUSTER_SIGN_CODE, ClusterArg, ClusterType, MAX_AVATAR, MAX_INFO, MAX_TITLE, MemberAddr,
    ServiceAddr, Setup, ValueKind,
};

use crate::avrs::labels::{self, labelled};
use crate::avrs::request::{not_allowed, request_enum, required, set_once};
use crate::error::Result;
use crate::ids::Guuid;
use crate::tsd::{TsdBuilder, TsdItem};

request_enum! {
    /// Any cluster request, typed by its packet type.
    pub enum ClusterRequest: ClusterType {
        Create(Create) = Create,
        Destroy(Destroy) = Destroy,
        Change(Change) = Change,
        Info(Info) = Info,
        ListRequest(ListRequest) = ListRequest,
        ListResponse(ListResponse) = ListResponse,
        MemberRequestAdd(MemberRequestAdd) = MemberRequestAdd,
        MemberRequestDel(MemberRequestDel) = MemberRequestDel,
        MemberApprove(MemberApprove) = MemberRequestApprove,
        MemberRemove(MemberRemove) = MemberRemove,
        RoleAssign(RoleAssign) = MemberRoleAssign,
        ContentAdd(ContentAdd) = ContentAdd,
        ContentUpdate(ContentUpdate) = ContentUpdate,
        ContentDel(ContentDel) = ContentDel,
        ContentListRequest(ContentListRequest) = ContentListRequest,
        ContentListResponse(ContentListResponse) = ContentListResponse,
        BalanceRequest(BalanceRequest) = BalanceRequest,
        BalanceResponse(BalanceResponse) = BalanceResponse,
        RouteFind(RouteFind) = RouteFind,
        RouteFindResponse(RouteFindResponse) = RouteFindResponse,
        RouteCheck(RouteCheck) = RouteCheck,
        RouteCheckResponse(RouteCheckResponse) = RouteCheckResponse,
        BookSync(BookSync) = BookSync,
        BookSyncResponse(BookSyncResponse) = BookSyncResponse,
    }
}

/// Hands each item to `take` as a known cluster argument; `take` returns
/// `Ok(false)` for an argument its packet type does not take.
fn for_each_arg<'a>(
    items: &[TsdItem<'a>],
    mut take: impl FnMut(ClusterArg, &TsdItem<'a>) -> Result<bool>,
) -> Result<()> {
    for item in items {
        let arg = ClusterArg::from_code(item.code)?;
        if !take(arg, item)? {
            return Err(not_allowed(item.code));
        }
    }
    Ok(())
}

fn put_id(args: &mut TsdBuilder, id: Guuid) {
    args.put_guuid(ClusterArg::Id.code(), id);
}

fn read_id(slot: &mut Option<Guuid>, item: &TsdItem<'_>) -> Result<()> {
    let id = item.guuid().map_err(labelled(labels::CLUSTER_ID))?;
    set_once(slot, id, labels::CLUSTER_ID)
}

/// Arguments that must be exactly one ID.
fn read_only_id(items: &[TsdItem<'_>]) -> Result<Guuid> {
    let mut id = None;
    for_each_arg(items, |arg, item| match arg {
        ClusterArg::Id => read_id(&mut id, item).map(|()| true),
        _ => Ok(false),
    })?;
    required(id, labels::CLUSTER_ID)
}
