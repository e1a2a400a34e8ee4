//! An operator's replica of the host's book, inside the operator's own
//! book: the host's clusters replace whatever the operator held under
//! their ids, the operator's own clusters stay, and changes to a host's
//! cluster are refused here (`ASK_THE_HOST`) so the two books never fork.
//! Reads (INFO, LIST, CONTENT_LIST) answer from the replica like from any
//! cluster of the book.

use super::book::{ClusterBook, MAX_CLUSTERS, MAX_ENTRIES};
use crate::error::{ClusterError, Result};
use avrs_proto::Guuid;
use avrs_proto::avrs::cluster::BookStamp;
use avrs_proto::avrs::{ClusterRequest, RetCode, RetCodePacket};
use std::collections::BTreeSet;

/// The reply to a change of a cluster the host keeps, sent to an operator.
pub const ASK_THE_HOST: &str = "ASK_THE_HOST";

/// Which of the book's clusters are the host's, from which of its books.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaMark {
    pub stamp: BookStamp,
    pub clusters: BTreeSet<Guuid>,
}

impl ClusterBook {
    /// The revision, bumped on every saved change.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Counts one more saved change.
    pub fn bump_revision(&mut self) {
        self.revision = self.revision.wrapping_add(1);
    }

    /// The host's book this operator holds, if any.
    pub fn replica(&self) -> Option<&ReplicaMark> {
        self.replica.as_ref()
    }

    /// Whether `id` is a cluster the host keeps.
    pub fn is_replicated(&self, id: &Guuid) -> bool {
        self.replica
            .as_ref()
            .is_some_and(|mark| mark.clusters.contains(id))
    }

    /// Takes the host's book `host` (stamped `stamp`): its clusters replace
    /// those of the previous replica and any of the operator's own with the
    /// same id; the operator's other clusters stay. `Ok(false)`: this is the
    /// replica held already, nothing changed. Refused, changing nothing,
    /// when the result would break the book's bounds.
    pub fn apply_replica(&mut self, stamp: BookStamp, host: ClusterBook) -> Result<bool> {
        if self.replica.as_ref().map(|mark| mark.stamp) == Some(stamp) {
            return Ok(false);
        }
        let mut merged = self.clusters.clone();
        if let Some(old) = &self.replica {
            merged.retain(|id, _| !old.clusters.contains(id));
        }
        let ids: BTreeSet<Guuid> = host.clusters.keys().copied().collect();
        merged.extend(host.clusters);
        let pinned = merged.values().filter(|r| r.pinned).count();
        let unpinned = merged.len() - pinned;
        if unpinned > MAX_CLUSTERS || pinned > 1 {
            return Err(ClusterError::BookSync(
                "the host's book does not fit beside this operator's: too many clusters",
            ));
        }
        let entries: usize = merged.values().map(|r| r.entries()).sum();
        if entries > MAX_ENTRIES {
            return Err(ClusterError::BookSync(
                "the host's book does not fit beside this operator's: too many entries",
            ));
        }
        self.clusters = merged;
        self.replica = Some(ReplicaMark {
            stamp,
            clusters: ids,
        });
        Ok(true)
    }

    /// On the host: what it replicated as an operator is its own now.
    pub fn forget_replica(&mut self) -> bool {
        self.replica.take().is_some()
    }

    /// On an operator: its own clusters are never the deployment's (those
    /// of the host's book keep their mark). Returns whether any was pinned.
    pub fn unpin_own(&mut self) -> bool {
        let replica = self.replica.take();
        let kept = replica.as_ref().map(|mark| &mark.clusters);
        let mut any = false;
        for record in self.clusters.values_mut() {
            if record.pinned && !kept.is_some_and(|ids| ids.contains(&record.id)) {
                record.pinned = false;
                any = true;
            }
        }
        self.replica = replica;
        any
    }

    /// CLUSTER_WRONG_REQUEST `ASK_THE_HOST` for a change of a cluster the
    /// host keeps: only the host changes it, and the change reaches this
    /// book at the next pull.
    pub fn replica_refusal(&self, request: &ClusterRequest) -> Option<RetCodePacket> {
        let id = changed_cluster(request)?;
        self.is_replicated(&id)
            .then(|| RetCodePacket::with_text(RetCode::ClusterWrongRequest, ASK_THE_HOST))
    }
}

/// The cluster a change names (reads, lists and packets a node only sends
/// name none).
fn changed_cluster(request: &ClusterRequest) -> Option<Guuid> {
    use ClusterRequest as R;
    Some(match request {
        R::Create(create) => create.id?,
        R::Destroy(destroy) => destroy.id,
        R::Change(change) => change.id,
        R::MemberRequestAdd(add) => add.id,
        R::MemberRequestDel(del) => del.id,
        R::MemberApprove(approve) => approve.id,
        R::MemberRemove(remove) => remove.id,
        R::RoleAssign(assign) => assign.id,
        R::ContentAdd(add) => add.id,
        R::ContentUpdate(update) => update.id,
        R::ContentDel(del) => del.id,
        _ => return None,
    })
}
