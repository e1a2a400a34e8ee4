//! The records of the cluster book, and the bounds that keep it finite:
//! every byte of a request is untrusted, so nothing grows past a cap.

use avrs_proto::avrs::cluster::{ClusterOptions, MemberAddr, MemberInfo};
use avrs_proto::avrs::{FlowCodec, Flows, Roles};
use avrs_proto::{Guuid, Hash32};
use std::collections::BTreeMap;

/// Clusters one node keeps (the deployment's own cluster comes on top).
pub const MAX_CLUSTERS: usize = 1_024;
/// Members of one cluster, its owner included.
pub const MAX_MEMBERS: usize = 10_000;
/// Join requests one cluster keeps waiting.
pub const MAX_REQUESTS: usize = 1_000;
/// Contents of one cluster: a CONTENT_LIST_RESPONSE of this many (22 bytes
/// each) still fits one native control message (64 KiB).
pub const MAX_CONTENTS: usize = 2_048;
/// Members, requests and contents of the whole book together, so that the
/// book (and its file) stays bounded whatever the mix.
pub const MAX_ENTRIES: usize = 100_000;

/// One member of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// Its roles in this cluster (granted on approval, or assigned).
    pub roles: Roles,
    /// What it said about itself when it asked to join (no avatar: the
    /// book does not keep 100 KiB images).
    pub info: MemberInfo,
}

/// A join request waiting for an approver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The roles it wishes for; the approver grants them or refuses.
    pub roles: Roles,
    pub info: MemberInfo,
    pub addr: Option<MemberAddr>,
}

/// One content of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRecord {
    pub title: Option<String>,
    pub flows: Flows,
    pub codecs: Vec<FlowCodec>,
}

/// One cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRecord {
    pub id: Guuid,
    /// Title, setup and ENCRYPTED (always present once created).
    pub options: ClusterOptions,
    /// Who created it; may do everything on it. Always a member.
    pub owner: Hash32,
    /// The deployment's own cluster: its membership mirrors the roster,
    /// and it cannot be destroyed.
    pub pinned: bool,
    pub members: BTreeMap<Hash32, MemberRecord>,
    pub requests: BTreeMap<Hash32, RequestRecord>,
    pub contents: BTreeMap<Guuid, ContentRecord>,
}

impl ClusterRecord {
    /// A new cluster whose owner is its first member, with the host role.
    pub fn new(id: Guuid, owner: Hash32, options: ClusterOptions) -> Self {
        let mut members = BTreeMap::new();
        members.insert(
            owner,
            MemberRecord {
                roles: Roles::HOST,
                info: MemberInfo::default(),
            },
        );
        Self {
            id,
            options,
            owner,
            pinned: false,
            members,
            requests: BTreeMap::new(),
            contents: BTreeMap::new(),
        }
    }

    pub(super) fn entries(&self) -> usize {
        self.members.len() + self.requests.len() + self.contents.len()
    }

    /// The roles `id` holds as a member (none when it is not one).
    pub fn member_roles(&self, id: &Hash32) -> Roles {
        self.members.get(id).map_or(Roles::empty(), |m| m.roles)
    }
}

/// The clusters this node keeps, by id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterBook {
    pub(super) clusters: BTreeMap<Guuid, ClusterRecord>,
    /// Bumped on every saved change (BOOK_SYNC tells operators by it).
    pub(super) revision: u64,
    /// On an operator: which clusters are the host's, and which of its
    /// books they come from (`replica`).
    pub(super) replica: Option<super::replica::ReplicaMark>,
}

impl ClusterBook {
    pub fn get(&self, id: &Guuid) -> Option<&ClusterRecord> {
        self.clusters.get(id)
    }

    pub fn clusters(&self) -> impl Iterator<Item = &ClusterRecord> {
        self.clusters.values()
    }

    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Members, requests and contents of every cluster (≤ [`MAX_ENTRIES`]
    /// as far as requests can grow it).
    pub fn entries(&self) -> usize {
        self.clusters.values().map(ClusterRecord::entries).sum()
    }

    /// Makes sure the deployment's own cluster is here, owned by the host
    /// node's key. Returns whether the book changed.
    pub fn ensure_pinned(&mut self, id: Guuid, owner: Hash32, title: &str) -> bool {
        // One deployment: a cluster pinned under another `cluster_id` is
        // an ordinary one now (its owner may destroy it).
        let unpinned = self.unpin_all_but(Some(id));
        let fresh = !self.clusters.contains_key(&id);
        let record = self.clusters.entry(id).or_insert_with(|| {
            let mut title = title.to_owned();
            truncate(&mut title, avrs_proto::avrs::cluster::MAX_TITLE);
            let options = ClusterOptions {
                title: Some(title),
                setup: None,
                encrypted: Some(false),
            };
            let mut record = ClusterRecord::new(id, owner, options);
            record.pinned = true;
            record
        });
        let before = (record.pinned, record.owner);
        record.pinned = true;
        if record.owner != owner {
            // A new host key owns the deployment now; the old one is out.
            record.members.remove(&record.owner);
            record.owner = owner;
        }
        record.members.entry(owner).or_insert(MemberRecord {
            roles: Roles::HOST,
            info: MemberInfo::default(),
        });
        unpinned || fresh || before != (true, owner)
    }

    /// Unpins every cluster but `keep` (an operator's book has none).
    /// Returns whether any was.
    pub fn unpin_all_but(&mut self, keep: Option<Guuid>) -> bool {
        let mut any = false;
        for record in self.clusters.values_mut() {
            if record.pinned && Some(record.id) != keep {
                record.pinned = false;
                any = true;
            }
        }
        any
    }

    /// The deployment's cluster takes the roster's members and waiting
    /// requests (each with its roles); the owner stays, and what members
    /// said about themselves is kept. Bounded like any cluster. Returns
    /// whether the book changed.
    pub fn sync_roster(
        &mut self,
        id: Guuid,
        members: impl IntoIterator<Item = (Hash32, Roles)>,
        requests: impl IntoIterator<Item = (Hash32, Roles)>,
    ) -> bool {
        let Some(record) = self.clusters.get_mut(&id) else {
            return false;
        };
        let mut new_members = BTreeMap::new();
        if let Some(owner) = record.members.get(&record.owner) {
            new_members.insert(record.owner, owner.clone());
        }
        for (member, roles) in members.into_iter().take(MAX_MEMBERS - 1) {
            let info = record.members.get(&member).map(|m| m.info.clone());
            let info = info.unwrap_or_default();
            new_members
                .entry(member)
                .or_insert(MemberRecord { roles, info });
        }
        let mut new_requests = BTreeMap::new();
        for (member, roles) in requests.into_iter().take(MAX_REQUESTS) {
            if new_members.contains_key(&member) {
                continue;
            }
            let kept = record.requests.get(&member);
            new_requests.insert(
                member,
                RequestRecord {
                    roles,
                    info: kept.map(|r| r.info.clone()).unwrap_or_default(),
                    addr: kept.and_then(|r| r.addr),
                },
            );
        }
        let changed = new_members != record.members || new_requests != record.requests;
        record.members = new_members;
        record.requests = new_requests;
        changed
    }
}

/// Cuts `text` to at most `max` bytes at a character boundary.
pub(super) fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}
