//! Per-session statistics of native sessions, kept while the connection
//! lasts (and while a lost session is parked for resume, see
//! [`super::resume`]) and shown by `GET /api/admin/sessions`. The table
//! also carries cut-offs: a member removed from the cluster (or whose
//! certificate, or its issuer's, is revoked) has its sessions here closed.

use avrs_auth::AuthError;
use avrs_proto::Hash32;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One native connection's figures; shared with its slots' writers.
#[derive(Debug)]
pub struct SessionStats {
    connected: Instant,
    connected_unix: u64,
    details: Mutex<Details>,
    /// Control requests handled (OPEN, CONTENT_ADD, …).
    pub requests: AtomicU64,
    /// Requests refused with a return code other than success.
    pub refused: AtomicU64,
    /// Frames and payload bytes handed to this session's group streams.
    pub frames_out: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Times the session was resumed on a new connection.
    pub resumes: AtomicU64,
}

#[derive(Debug, Default)]
struct Details {
    /// The client's address (the newest connection's).
    remote: Option<SocketAddr>,
    /// Hash of the signer's key, once OPEN was accepted.
    session_id: Option<String>,
    /// The token's subject, when the session gave one.
    subject: Option<String>,
    /// Content slot → what it plays.
    contents: BTreeMap<u32, String>,
}

impl SessionStats {
    fn new(remote: SocketAddr) -> Self {
        let connected_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            connected: Instant::now(),
            connected_unix,
            details: Mutex::new(Details {
                remote: Some(remote),
                ..Details::default()
            }),
            requests: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            resumes: AtomicU64::new(0),
        }
    }

    /// The session went on from a new connection at `remote`.
    pub fn resumed_from(&self, remote: SocketAddr) {
        self.details().remote = Some(remote);
        self.resumes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn opened(&self, session_id: String) {
        self.details().session_id = Some(session_id);
    }

    pub fn subject(&self, subject: &str) {
        self.details().subject = Some(subject.to_owned());
    }

    pub fn slot_added(&self, content_id: u32, name: &str) {
        self.details().contents.insert(content_id, name.to_owned());
    }

    pub fn slot_removed(&self, content_id: u32) {
        self.details().contents.remove(&content_id);
    }

    /// Frames written to the session's group streams.
    pub fn sent(&self, frames: u64, bytes: u64) {
        self.frames_out.fetch_add(frames, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The figures now; `parked_for`: the time a parked session has left.
    pub fn view(&self, now: Instant, parked_for: Option<Duration>) -> SessionView {
        let details = self.details();
        SessionView {
            remote: details.remote.map(|r| r.to_string()).unwrap_or_default(),
            state: match parked_for {
                None => SessionState::Open,
                Some(_) => SessionState::Parked,
            },
            resumable_for: parked_for.map(|left| left.as_secs()),
            session_id: details.session_id.clone(),
            subject: details.subject.clone(),
            contents: details.contents.values().cloned().collect(),
            connected_at: self.connected_unix,
            seconds: now.saturating_duration_since(self.connected).as_secs(),
            requests: self.requests.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            frames_out: self.frames_out.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            resumes: self.resumes.load(Ordering::Relaxed),
        }
    }

    fn details(&self) -> MutexGuard<'_, Details> {
        self.details.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether a session has a connection now.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Open,
    /// Its connection was lost; kept for resume.
    Parked,
}

/// A session as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SessionView {
    pub remote: String,
    pub state: SessionState,
    /// Parked sessions: seconds left to resume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumable_for: Option<u64>,
    pub session_id: Option<String>,
    pub subject: Option<String>,
    pub contents: Vec<String>,
    /// Unix seconds.
    pub connected_at: u64,
    pub seconds: u64,
    pub requests: u64,
    pub refused: u64,
    pub frames_out: u64,
    pub bytes_out: u64,
    pub resumes: u64,
}

/// Cut-offs announced at once and not yet seen by every session, at most;
/// a session further behind misses the oldest (removals are operator
/// actions, far fewer than this).
const CUT_OFF_BACKLOG: usize = 1024;

/// A member whose native sessions on this node end: removed from the
/// cluster, or a certificate on its path revoked. `why` is what its
/// sessions are closed with (ACCESS_REVOKED, `MEMBER_SECURITY_ISSUE …`).
#[derive(Debug, Clone)]
pub struct CutOff {
    pub member: Hash32,
    pub why: AuthError,
}

/// Every native session of the node.
#[derive(Debug)]
pub struct SessionTable {
    next: AtomicU64,
    sessions: Mutex<HashMap<u64, Arc<SessionStats>>>,
    /// Sessions whose connection was lost, kept for resume.
    pub resumable: Arc<super::resume::Resumable>,
    cut_offs: tokio::sync::broadcast::Sender<CutOff>,
}

impl Default for SessionTable {
    fn default() -> Self {
        Self {
            next: AtomicU64::default(),
            sessions: Mutex::default(),
            resumable: Arc::default(),
            cut_offs: tokio::sync::broadcast::Sender::new(CUT_OFF_BACKLOG),
        }
    }
}

impl SessionTable {
    /// Ends every session of `member` here: those open now close (see
    /// [`next_cut_off`]) and a parked one is dropped. Returns the
    /// ENCRYPTED contents the parked one watched: their keys must rotate.
    pub fn cut_off(&self, member: Hash32, why: AuthError) -> Vec<avrs_proto::Guuid> {
        // No session listening is no error: there is nothing to close.
        let _ = self.cut_offs.send(CutOff { member, why });
        let parked = self.resumable.forget(member);
        parked.map_or_else(Vec::new, |p| {
            p.slots.iter().filter_map(|s| s.sealed).collect()
        })
    }

    /// Cut-offs from now on, for one connection to watch.
    pub fn cut_offs(&self) -> tokio::sync::broadcast::Receiver<CutOff> {
        self.cut_offs.subscribe()
    }

    /// A new connection; it is listed until the handle is dropped.
    pub fn register(self: &Arc<Self>, remote: SocketAddr) -> SessionHandle {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        let stats = Arc::new(SessionStats::new(remote));
        self.lock().insert(key, stats.clone());
        SessionHandle {
            table: self.clone(),
            key,
            stats,
        }
    }

    /// Figures of a session that is not listed (unit tests elsewhere).
    #[cfg(test)]
    pub(crate) fn stats_for_tests(remote: SocketAddr) -> Arc<SessionStats> {
        Arc::new(SessionStats::new(remote))
    }

    /// Every connected session, oldest first, then the parked ones.
    pub fn list(&self) -> Vec<SessionView> {
        let now = Instant::now();
        let mut all: Vec<(u64, SessionView)> = self
            .lock()
            .iter()
            .map(|(key, stats)| (*key, stats.view(now, None)))
            .collect();
        all.sort_by_key(|(key, _)| *key);
        let parked = self
            .resumable
            .parked_stats(now)
            .into_iter()
            .map(|(stats, left)| stats.view(now, Some(left)));
        all.into_iter()
            .map(|(_, view)| view)
            .chain(parked)
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<SessionStats>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The next cut-off `cut_offs` brings; pending forever once the table is
/// gone. Cancel-safe.
pub async fn next_cut_off(cut_offs: &mut tokio::sync::broadcast::Receiver<CutOff>) -> CutOff {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match cut_offs.recv().await {
            Ok(cut) => return cut,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return std::future::pending().await,
        }
    }
}

/// A listed session; dropping it (the connection ended) unlists it.
#[derive(Debug)]
pub struct SessionHandle {
    table: Arc<SessionTable>,
    key: u64,
    pub stats: Arc<SessionStats>,
}

impl SessionHandle {
    /// A resumed session: its kept figures replace this connection's.
    pub fn adopt(&mut self, stats: Arc<SessionStats>, remote: SocketAddr) {
        stats.resumed_from(remote);
        self.table.lock().insert(self.key, stats.clone());
        self.stats = stats;
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        self.table.lock().remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_listed_with_its_figures_until_dropped() {
        let table = Arc::new(SessionTable::default());
        let remote: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let first = table.register(remote);
        let second = table.register("127.0.0.1:5001".parse().unwrap());
        first.stats.opened("ab12".into());
        first.stats.subject("alice");
        first.stats.slot_added(1, "live/cam");
        first.stats.slot_added(2, "vod/x");
        first.stats.slot_removed(2);
        first.stats.sent(3, 300);
        first.stats.requests.fetch_add(2, Ordering::Relaxed);
        let list = table.list();
        assert_eq!(list.len(), 2);
        let view = &list[0];
        assert_eq!(view.remote, "127.0.0.1:5000");
        assert_eq!(view.session_id.as_deref(), Some("ab12"));
        assert_eq!(view.subject.as_deref(), Some("alice"));
        assert_eq!(view.contents, ["live/cam"]);
        assert_eq!(
            (view.frames_out, view.bytes_out, view.requests),
            (3, 300, 2)
        );
        assert_eq!(list[1].session_id, None);
        drop(first);
        assert_eq!(table.list().len(), 1);
        drop(second);
        assert!(table.list().is_empty());
    }

    #[tokio::test]
    async fn a_cut_off_reaches_every_watching_session() {
        let table = SessionTable::default();
        // Nobody watching: nothing to close, nothing fails.
        let sealed = table.cut_off(Hash32([1; 32]), AuthError::Revoked("member 01".into()));
        assert!(sealed.is_empty());
        let (mut a, mut b) = (table.cut_offs(), table.cut_offs());
        table.cut_off(Hash32([2; 32]), AuthError::Revoked("certificate 02".into()));
        for watcher in [&mut a, &mut b] {
            let cut = next_cut_off(watcher).await;
            assert_eq!(cut.member, Hash32([2; 32]));
            assert_eq!(cut.why.to_string(), "certificate 02 is revoked");
        }
        // A parked session of the member goes; its sealed contents are
        // returned for their keys to rotate.
        use crate::native::resume::{Parked, ParkedSlot};
        let member = Hash32([3; 32]);
        let sealed = avrs_proto::Guuid::new(7, 7);
        let slot = |content_id, sealed| ParkedSlot {
            content_id,
            request: avrs_proto::avrs::quic::ContentRequest::watch("live/x"),
            sealed,
        };
        let parked = Parked {
            slots: vec![slot(1, None), slot(2, Some(sealed))],
            stats: SessionTable::stats_for_tests("127.0.0.1:9".parse().unwrap()),
            token: None,
        };
        let now = Instant::now();
        table
            .resumable
            .park(member, parked, Duration::from_secs(5), now);
        assert_eq!(table.resumable.parked_stats(now).len(), 1);
        let why = AuthError::Revoked("member 03".into());
        assert_eq!(table.cut_off(member, why), [sealed]);
        assert!(table.resumable.parked_stats(now).is_empty());
    }
}
