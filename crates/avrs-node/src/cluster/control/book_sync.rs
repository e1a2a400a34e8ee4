//! BOOK_SYNC on a node (`avrs_cluster::control::{Snapshot, Puller}` hold
//! the rules): the host answers operators from a snapshot of its book,
//! signed with its member key; an operator node pulls the host's book over
//! a native session signed with its own member key, every few heartbeats
//! and as soon as it sees the host alive (again), and keeps it in its own
//! book file, so its reads still answer while the host is down.

use super::{Keeper, lock};
use crate::cluster::Cluster;
use crate::native::client::{ClientOptions, Session};
use avrs_cluster::ClusterBook;
use avrs_cluster::control::{Pulled, Puller, Snapshot};
use avrs_proto::Hash32;
use avrs_proto::avrs::cluster::{BookStamp, BookSync};
use avrs_proto::avrs::{RetCode, RetCodePacket, Roles};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// BOOK_SYNC sent to a node that is not the host.
pub const NOT_THE_HOST: &str = "NOT_THE_HOST";
/// BOOK_SYNC from a session whose signer is not an approved member with
/// the operator (or host) role in the roster.
pub const NOT_AN_OPERATOR: &str = "NOT_AN_OPERATOR";

/// An operator pulls every this many heartbeats (a cheap "unchanged"
/// when it is up to date).
const PULL_EVERY_HEARTBEATS: u32 = 5;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The roles whose holders may copy the host's book.
const COPIERS: Roles = Roles::OPERATOR.union(Roles::HOST);

impl Keeper {
    /// The book as BOOK_SYNC sends it now: the roster first (a change is
    /// a new revision, saved), then the snapshot of this revision, made
    /// once.
    fn snapshot(&self, approvals: &Mutex<super::Approvals>) -> Snapshot {
        let mut book = lock(&self.book);
        if self.sync(&mut book, approvals) {
            book.bump_revision();
            if let Err(err) = self.save(&book) {
                tracing::error!(%err, "cluster control: the book was not saved");
            }
        }
        let mut cached = lock(&self.snapshot);
        match &*cached {
            Some(snapshot) if snapshot.stamp.revision == book.revision() => snapshot.clone(),
            _ => cached.insert(Snapshot::of(&book)).clone(),
        }
    }

    /// The host's book this operator holds.
    pub fn replica_stamp(&self) -> Option<BookStamp> {
        lock(&self.book).replica().map(|mark| mark.stamp)
    }

    /// Takes the host's book; saved when it changed anything. Returns
    /// whether it did.
    fn take_replica(&self, stamp: BookStamp, host: ClusterBook) -> anyhow::Result<bool> {
        let mut book = lock(&self.book);
        if !book.apply_replica(stamp, host)? {
            return Ok(false);
        }
        book.bump_revision();
        self.save(&book)
            .map_err(|err| anyhow::anyhow!("the replica was not saved: {err}"))?;
        Ok(true)
    }
}

/// The host's answer to BOOK_SYNC from the session signed by `asker`: the
/// signed BOOK_SYNC_RESPONSE, or the refusal.
pub fn answer(
    cluster: &Cluster,
    asker: Hash32,
    request: &BookSync,
) -> Result<Vec<u8>, RetCodePacket> {
    let keeper = cluster.keeper.as_ref().filter(|k| k.deployment().is_some());
    let Some(keeper) = keeper else {
        return Err(RetCodePacket::with_text(
            RetCode::ClusterWrongRequest,
            NOT_THE_HOST,
        ));
    };
    // Roster roles only: a token's role does not make a node a copier.
    let roles = lock(&cluster.approvals).roster_roles(&asker);
    if !roles.is_some_and(|roles| roles.intersects(COPIERS)) {
        return Err(RetCodePacket::with_text(
            RetCode::MemberSecurityIssue,
            NOT_AN_OPERATOR,
        ));
    }
    keeper
        .snapshot(&cluster.approvals)
        .signed_answer(request, &cluster.key)
}

/// Starts the pulls on an operator node that is not the host.
pub fn spawn_puller(cluster: &Arc<Cluster>) {
    let operator = cluster.roles.contains(Roles::OPERATOR);
    let keeper = cluster.keeper.as_ref();
    if operator && keeper.is_some_and(|k| k.deployment().is_none()) {
        tokio::spawn(run(cluster.clone()));
    }
}

async fn run(cluster: Arc<Cluster>) {
    let tick = cluster.config.heartbeat_interval;
    let every = tick * PULL_EVERY_HEARTBEATS;
    let mut last_pull: Option<Instant> = None;
    let mut host_was_alive = false;
    loop {
        tokio::select! {
            _ = cluster.shutdown.cancelled() => return,
            _ = tokio::time::sleep(tick) => {}
        }
        let Some((host, addr)) = host_service(&cluster) else {
            host_was_alive = false;
            continue;
        };
        // At once when the host is (back) alive, then every few heartbeats.
        let due = !host_was_alive || last_pull.is_none_or(|at| at.elapsed() >= every);
        host_was_alive = true;
        if !due {
            continue;
        }
        last_pull = Some(Instant::now());
        let outcome = tokio::select! {
            _ = cluster.shutdown.cancelled() => return,
            outcome = pull(&cluster, host, addr) => outcome,
        };
        match outcome {
            Ok(true) => {
                tracing::info!(host = %host.to_hex(), "cluster control: the host's book copied")
            }
            Ok(false) => tracing::debug!("cluster control: the host's book is unchanged"),
            Err(err) => {
                tracing::warn!(%err, host = %host.to_hex(), "cluster control: the host's book was not copied")
            }
        }
    }
}

/// The host's member id and native address, while it is alive.
fn host_service(cluster: &Cluster) -> Option<(Hash32, SocketAddr)> {
    let host = (*lock(&cluster.host))?;
    let view = lock(&cluster.view);
    let info = view.get(&host).filter(|info| info.is_alive())?;
    let service = info.state.as_ref()?.service;
    Some((host, service.socket(service.quic)?))
}

/// One pull: chunk after chunk until the whole book or "unchanged".
/// Returns whether the replica changed.
async fn pull(cluster: &Cluster, host: Hash32, addr: SocketAddr) -> anyhow::Result<bool> {
    let Some(keeper) = cluster.keeper.as_ref() else {
        return Ok(false);
    };
    // Signed with the member key: the host knows which member asks.
    let options = ClientOptions {
        key: Some(cluster.key.duplicate()?),
        connect_timeout: CONNECT_TIMEOUT,
        ..ClientOptions::default()
    };
    let mut session = Session::connect(addr, options).await?;
    let nonce = avrs_crypto::random_bytes()?;
    let mut puller = Puller::new(host, keeper.replica_stamp(), nonce);
    let mut request = puller.first();
    let outcome = loop {
        let reply = match session.book_sync(&request).await {
            Ok(reply) => reply,
            Err(err) => break Err(err),
        };
        match puller.on_reply(&reply) {
            Ok(Pulled::Ask(next)) => request = next,
            Ok(Pulled::Unchanged) => break Ok(false),
            Ok(Pulled::Book(stamp, book)) => break keeper.take_replica(stamp, *book),
            Err(err) => break Err(err.into()),
        }
    };
    session.close_now();
    outcome
}

#[cfg(test)]
#[path = "book_sync_tests.rs"]
mod tests;
