//! Cluster control on a node: the [`ClusterBook`] a host or operator keeps
//! in `DATA_DIR/cluster-book.json`, answered through one core
//! (`avrs_cluster::control`) whether the request came on a native session
//! (`'C'`) or through `POST /api/cluster/control` ([`http`]). ROUTE_FIND
//! and ROUTE_CHECK are answered before the book, by every node ([`route`]).
//!
//! On the host the deployment's own cluster (the one of `cluster_id`) is
//! in the book from the start, owned by the host's key; its membership is
//! the roster's: approving, removing and assigning roles in it act on
//! [`Approvals`]. Operator nodes also hold a replica of the host's book
//! ([`book_sync`]); they keep their own clusters beside it.

pub mod balance;
pub mod book_sync;
mod describe;
pub mod http;
pub mod route;

use super::roster::{Approvals, write_atomically};
use super::{Cluster, lock};
use crate::context::NodeContext;
use avrs_auth::TokenRole;
use avrs_cluster::control::{Actor, ClusterBook, Effect, Handled, Reply};
use avrs_proto::avrs::{ClusterRequest, RetCode, RetCodePacket, Roles};
use avrs_proto::{Guuid, Hash32};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The reply on a node that keeps no book.
pub const NOT_A_CLUSTER_KEEPER: &str = "NOT_A_CLUSTER_KEEPER";
/// The reply when a save failed (the change holds until the next save).
pub const NOT_SAVED: &str = "NOT_SAVED";

/// The id of the deployment's own cluster: the first 16 bytes of SHA3-256
/// of `cluster:` and its `cluster_id`, so every node derives the same.
pub fn deployment_id(cluster_name: &str) -> Guuid {
    let hash = avrs_crypto::sha3_256(format!("cluster:{cluster_name}").as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&hash.0[..16]);
    Guuid::from_bytes(id)
}

/// A host's or operator's book and where it is saved.
#[derive(Debug)]
pub struct Keeper {
    book: Mutex<ClusterBook>,
    file: Option<PathBuf>,
    /// The deployment's cluster, on the host only.
    deployment: Option<Guuid>,
    /// The host's book as BOOK_SYNC last sent it (`book_sync`).
    snapshot: Mutex<Option<avrs_cluster::control::Snapshot>>,
}

/// On the host: the deployment's cluster, its owner (the host's key) and
/// its title (`cluster_id`).
pub struct Deployment<'a> {
    pub id: Guuid,
    pub owner: Hash32,
    pub title: &'a str,
}

impl Keeper {
    /// The book of a node with the host or operator role (`None` for
    /// others), read from `file`. A file that cannot be read or believed
    /// stops the node: starting without it would lose the clusters.
    pub fn load(
        roles: Roles,
        file: Option<&Path>,
        deployment: Option<Deployment<'_>>,
    ) -> anyhow::Result<Option<Self>> {
        if !roles.intersects(Roles::HOST | Roles::OPERATOR) {
            return Ok(None);
        }
        let mut book = match file {
            Some(path) => read_book(path)?,
            None => ClusterBook::default(),
        };
        let id = match deployment {
            Some(d) => {
                book.ensure_pinned(d.id, d.owner, d.title);
                book.forget_replica();
                Some(d.id)
            }
            None => {
                book.unpin_own();
                None
            }
        };
        let keeper = Self {
            book: Mutex::new(book),
            file: file.map(Path::to_path_buf),
            deployment: id,
            snapshot: Mutex::new(None),
        };
        Ok(Some(keeper))
    }

    /// Answers `request` from `actor`: the deployment's cluster first takes
    /// the roster's state, the book is saved when it changed, and a
    /// membership change in the deployment's cluster goes to the roster.
    pub fn handle(
        &self,
        approvals: &Mutex<Approvals>,
        actor: Actor,
        request: ClusterRequest,
    ) -> Handled {
        let mut book = lock(&self.book);
        let synced = self.sync(&mut book, approvals);
        let mut handled = book.handle(&actor, request, fresh_id);
        if let Some(effect) = handled.effect
            && Some(effect.cluster()) == self.deployment
        {
            apply(&mut lock(approvals), effect);
        }
        if handled.changed || synced {
            book.bump_revision();
        }
        if (handled.changed || synced)
            && let Err(err) = self.save(&book)
        {
            tracing::error!(%err, "cluster control: the book was not saved");
            handled.reply = Reply::Code(RetCodePacket::with_text(RetCode::Error, NOT_SAVED));
        }
        handled
    }

    /// A read of the book (to describe a reply).
    pub fn read<T>(&self, read: impl FnOnce(&ClusterBook) -> T) -> T {
        read(&lock(&self.book))
    }

    pub fn deployment(&self) -> Option<Guuid> {
        self.deployment
    }

    fn sync(&self, book: &mut ClusterBook, approvals: &Mutex<Approvals>) -> bool {
        let Some(id) = self.deployment else {
            return false;
        };
        let approvals = lock(approvals);
        let members: Vec<(Hash32, Roles)> = approvals
            .approved
            .keys()
            .filter_map(|m| Some((*m, approvals.roster_roles(m)?)))
            .collect();
        let requests: Vec<(Hash32, Roles)> = approvals
            .pending
            .keys()
            .map(|m| (*m, approvals.wished_roles(m)))
            .collect();
        drop(approvals);
        book.sync_roster(id, members, requests)
    }

    fn save(&self, book: &ClusterBook) -> std::io::Result<()> {
        match &self.file {
            Some(path) => write_atomically(path, &book.to_json()),
            None => Ok(()),
        }
    }
}

fn read_book(path: &Path) -> anyhow::Result<ClusterBook> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(ClusterBook::default()),
        Err(err) => anyhow::bail!("cluster book {}: {err}", path.display()),
    };
    ClusterBook::from_json(&bytes).map_err(|err| {
        anyhow::anyhow!(
            "{}: {err}; the node does not start without its clusters: repair the file or move it away",
            path.display()
        )
    })
}

/// A fresh cluster id; zero (refused by the book) if the system has no
/// randomness to give.
fn fresh_id() -> Guuid {
    avrs_crypto::random_bytes::<16>().map_or(Guuid::default(), Guuid::from_bytes)
}

/// A membership change of the deployment's cluster, on the roster.
fn apply(approvals: &mut Approvals, effect: Effect) {
    match effect {
        Effect::Approved { member, roles, .. } => {
            approvals.approve(member);
            approvals.assign(member, roles);
            tracing::info!(member = %member.to_hex(), %roles, "cluster control: member approved");
        }
        Effect::Removed { member, .. } => {
            approvals.remove(member);
            tracing::info!(member = %member.to_hex(), "cluster control: member removed");
        }
        Effect::RolesAssigned { member, roles, .. } => {
            approvals.assign(member, roles);
            tracing::info!(member = %member.to_hex(), %roles, "cluster control: roles assigned");
        }
    }
}

/// The member roles a token's role stands for.
pub fn token_roles(role: TokenRole) -> Roles {
    match role {
        TokenRole::Viewer | TokenRole::Publisher => Roles::CLIENT,
        TokenRole::Operator => Roles::OPERATOR,
        TokenRole::Host => Roles::HOST,
        TokenRole::Server => Roles::SERVER,
    }
}

/// Who a native session is, as cluster control sees it: the host's own
/// key is a host; an approved member holds its roster roles; anyone else
/// (and anyone on a node outside a cluster) the role of the session's
/// token, or a client.
pub fn native_actor(cluster: Option<&Cluster>, id: Hash32, token: Option<TokenRole>) -> Actor {
    let host = cluster.is_some_and(|c| *lock(&c.host) == Some(id));
    let roster = cluster.and_then(|c| lock(&c.approvals).roster_roles(&id));
    let roles = match (host, roster) {
        (true, _) => Roles::HOST,
        (false, Some(roles)) => roles,
        (false, None) => token.map_or(Roles::CLIENT, token_roles),
    };
    Actor { id, roles }
}

/// Answers one request on this node: ROUTE_FIND / ROUTE_CHECK from its
/// view and relay trees ([`route`]), anything else from its book; `None`
/// for the latter on a node outside a cluster.
pub fn answer(context: &NodeContext, actor: Actor, request: ClusterRequest) -> Option<Reply> {
    if let Some(reply) = route::answer(context, &actor, &request) {
        return Some(reply);
    }
    let cluster = context.cluster.get().map(|c| &**c);
    if let Some(reply) = balance::answer(cluster, &request) {
        return Some(reply);
    }
    let cluster = context.cluster.get()?;
    Some(handle(cluster, actor, request).reply)
}

/// Answers one request on `cluster`; a node without a book says so.
pub fn handle(cluster: &Cluster, actor: Actor, request: ClusterRequest) -> Handled {
    match &cluster.keeper {
        Some(keeper) => keeper.handle(&cluster.approvals, actor, request),
        None => Handled {
            reply: Reply::Code(RetCodePacket::with_text(
                RetCode::ClusterNotFound,
                NOT_A_CLUSTER_KEEPER,
            )),
            changed: false,
            effect: None,
        },
    }
}

#[cfg(test)]
mod tests;
