//! Session resume: a native session whose connection is lost (no CLOSE, no
//! refusal, no revocation) is parked for `reconnect_timeout` with its slots
//! and statistics. An OPEN signed by the same key (same session id) with
//! RESUME takes it back: the slots go on under their old ids. When the old
//! connection is still up (the server has not noticed the loss yet, e.g.
//! the client moved to another address), the new one asks it to hand its
//! session over, and the old connection is closed with SESSION_MOVED.
//!
//! Only the key's holder can resume: the OPEN is signed and bound to its
//! own connection, and the session id is the hash of the signing key.

use super::sessions::SessionStats;
use avrs_proto::Hash32;
use avrs_proto::avrs::quic::ContentRequest;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Most sessions parked at once; past it the one expiring soonest goes
/// (so a flood of dropped connections costs bounded memory).
pub const MAX_PARKED: usize = 4096;

/// How long a new connection waits for a live one to hand its session over.
const HANDOVER_WAIT: Duration = Duration::from_secs(1);

/// One content slot of a parked session.
#[derive(Debug, Clone)]
pub struct ParkedSlot {
    pub content_id: u32,
    /// What the slot was added with; a VoD's start is moved to where it
    /// had got to.
    pub request: ContentRequest,
    /// An ENCRYPTED content: if the slot cannot be restored (the grant
    /// ended meanwhile), its key must rotate.
    pub sealed: Option<avrs_proto::Guuid>,
}

/// A session waiting for its client to come back.
#[derive(Debug)]
pub struct Parked {
    pub slots: Vec<ParkedSlot>,
    /// Figures carried on by the resumed session.
    pub stats: Arc<SessionStats>,
    pub token: Option<String>,
}

/// A request to the live connection of a session: send it back parked.
pub type Handover = oneshot::Sender<Parked>;

/// A connection's hold on its session id, for others to ask a handover.
/// Dropping it releases the id (unless a newer connection claimed it).
#[derive(Debug)]
pub struct Claim {
    resumable: Arc<Resumable>,
    id: Hash32,
    number: u64,
    /// Handover requests from a newer connection of the same session.
    pub handovers: mpsc::Receiver<Handover>,
    /// The connection that held the id before this one, if still up.
    previous: Option<mpsc::Sender<Handover>>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut live = self.resumable.live();
        if live.get(&self.id).is_some_and(|(n, _)| *n == self.number) {
            live.remove(&self.id);
        }
    }
}

/// The parked sessions and the live connections that could hand theirs over.
#[derive(Debug, Default)]
pub struct Resumable {
    parked: Mutex<HashMap<Hash32, (Parked, Instant)>>,
    live: Mutex<HashMap<Hash32, (u64, mpsc::Sender<Handover>)>>,
    next: AtomicU64,
}

impl Resumable {
    /// This connection now holds session `id` (the newest holder wins).
    pub fn claim(self: &Arc<Self>, id: Hash32) -> Claim {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, handovers) = mpsc::channel(1);
        let previous = self.live().insert(id, (number, tx));
        Claim {
            resumable: self.clone(),
            id,
            number,
            handovers,
            previous: previous.map(|(_, tx)| tx),
        }
    }

    /// Keeps `parked` for `timeout` (nothing when it is zero).
    pub fn park(&self, id: Hash32, parked: Parked, timeout: Duration, now: Instant) {
        if timeout.is_zero() {
            return;
        }
        let mut all = self.parked();
        all.retain(|_, (_, until)| *until > now);
        if all.len() >= MAX_PARKED && !all.contains_key(&id) {
            let soonest = all
                .iter()
                .min_by_key(|(_, (_, until))| *until)
                .map(|(k, _)| *k);
            if let Some(soonest) = soonest {
                all.remove(&soonest);
            }
        }
        all.insert(id, (parked, now + timeout));
    }

    /// Session `id` back for the connection holding `claim`: parked, or
    /// handed over by the connection that still holds it. `None` when
    /// nobody kept it.
    pub async fn take(&self, claim: &Claim, now: Instant) -> Option<Parked> {
        if let Some(parked) = self.take_parked(claim.id, now) {
            return Some(parked);
        }
        let holder = claim.previous.as_ref()?;
        let (tx, rx) = oneshot::channel();
        let ask = async {
            holder.send(tx).await.ok()?;
            rx.await.ok()
        };
        let handed = tokio::time::timeout(HANDOVER_WAIT, ask)
            .await
            .ok()
            .flatten();
        // The old connection may have ended meanwhile: it parked the
        // session before letting go of its claim.
        handed.or_else(|| self.take_parked(claim.id, Instant::now()))
    }

    /// Drops session `id`'s parked session, if any (its member was cut
    /// off: it must not come back with its slots).
    pub fn forget(&self, id: Hash32) -> Option<Parked> {
        self.parked().remove(&id).map(|(parked, _)| parked)
    }

    fn take_parked(&self, id: Hash32, now: Instant) -> Option<Parked> {
        let mut all = self.parked();
        let (parked, until) = all.remove(&id)?;
        (until > now).then_some(parked)
    }

    /// Parked sessions not yet expired, with the time each has left.
    pub fn parked_stats(&self, now: Instant) -> Vec<(Arc<SessionStats>, Duration)> {
        self.parked()
            .values()
            .filter(|(_, until)| *until > now)
            .map(|(parked, until)| (parked.stats.clone(), *until - now))
            .collect()
    }

    fn parked(&self) -> MutexGuard<'_, HashMap<Hash32, (Parked, Instant)>> {
        self.parked.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn live(&self) -> MutexGuard<'_, HashMap<Hash32, (u64, mpsc::Sender<Handover>)>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parked(slots: u32) -> Parked {
        let remote = "127.0.0.1:9".parse().unwrap();
        Parked {
            slots: (1..=slots)
                .map(|content_id| ParkedSlot {
                    content_id,
                    request: ContentRequest::watch("live/x"),
                    sealed: None,
                })
                .collect(),
            stats: super::super::sessions::SessionTable::stats_for_tests(remote),
            token: None,
        }
    }

    fn id(n: u8) -> Hash32 {
        Hash32([n; 32])
    }

    #[tokio::test]
    async fn a_parked_session_is_taken_once_and_only_in_time() {
        let resumable = Arc::new(Resumable::default());
        let now = Instant::now();
        resumable.park(id(1), parked(2), Duration::from_secs(5), now);
        let claim = resumable.claim(id(1));
        let taken = resumable.take(&claim, now).await.expect("kept");
        assert_eq!(taken.slots.len(), 2);
        assert!(resumable.take(&claim, now).await.is_none(), "taken once");

        resumable.park(id(2), parked(1), Duration::from_secs(5), now);
        let claim = resumable.claim(id(2));
        let late = now + Duration::from_secs(6);
        assert!(resumable.take(&claim, late).await.is_none(), "expired");
        assert!(resumable.parked_stats(late).is_empty());

        resumable.park(id(3), parked(1), Duration::ZERO, now);
        assert!(
            resumable.parked_stats(now).is_empty(),
            "timeout 0 keeps nothing"
        );
    }

    #[tokio::test]
    async fn the_parked_count_is_bounded_dropping_the_soonest_to_expire() {
        let resumable = Resumable::default();
        let now = Instant::now();
        for n in 0..MAX_PARKED as u32 + 1 {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&n.to_be_bytes());
            let timeout = Duration::from_secs(10) + Duration::from_millis(u64::from(n));
            resumable.park(Hash32(key), parked(0), timeout, now);
        }
        assert_eq!(resumable.parked_stats(now).len(), MAX_PARKED);
        assert!(
            resumable.take_parked(Hash32([0; 32]), now).is_none(),
            "oldest dropped"
        );
    }

    #[tokio::test]
    async fn a_live_holder_hands_over_and_a_gone_one_is_not_waited_for() {
        let resumable = Arc::new(Resumable::default());
        let mut old = resumable.claim(id(7));
        let new = resumable.claim(id(7));
        let serve_old = tokio::spawn(async move {
            let handover = old.handovers.recv().await.expect("asked");
            let _ = handover.send(parked(3));
        });
        let taken = resumable
            .take(&new, Instant::now())
            .await
            .expect("handed over");
        assert_eq!(taken.slots.len(), 3);
        serve_old.await.unwrap();

        // A holder that ended (its claim dropped) is not waited for.
        let gone = resumable.claim(id(8));
        let next = resumable.claim(id(8));
        drop(gone);
        let started = Instant::now();
        assert!(resumable.take(&next, Instant::now()).await.is_none());
        assert!(started.elapsed() < HANDOVER_WAIT);
    }
}
