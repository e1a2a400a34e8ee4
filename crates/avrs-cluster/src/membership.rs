//! The sans-IO membership driver: foca (SWIM) with our identity, codec and
//! state broadcasts, behind the signed envelope, on time given as a value.
//!
//! Feed it datagrams ([`Membership::handle_datagram`]) and time
//! ([`Membership::handle_timeout`] at [`Membership::poll_timeout`]); send what
//! [`Membership::poll_transmit`] returns; read [`Membership::poll_event`].

use crate::auth::GossipAuth;
use crate::broadcast::{SharedTable, StateBroadcasts, lock};
use crate::codec::MemberCodec;
use crate::config::ClusterConfig;
use crate::error::{ClusterError, Result};
use crate::identity::MemberId;
use crate::state::NodeState;
use crate::view::{ClusterView, Liveness};
use avrs_proto::Hash32;
use foca::{AccumulatingRuntime, Foca, Member, OwnedNotification, State, Timer};
use rand_pcg::Pcg64Mcg;
use rand_pcg::rand_core::SeedableRng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

/// An unchanged state is spread again this many heartbeats after the last
/// publication (for members that joined since). Changes go out at once.
pub const STATE_REFRESH_HEARTBEATS: u32 = 10;

type Swim = Foca<MemberId, MemberCodec, Pcg64Mcg, StateBroadcasts>;

/// A sealed datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub to: MemberId,
    pub datagram: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipEvent {
    MemberUp(MemberId),
    MemberDown(MemberId),
    /// A member's gossiped state changed (read it from the view).
    StateChanged(Hash32),
    /// A member down for `reconnect_timeout` was forgotten.
    Forgotten(Hash32),
}

/// Counters for reports and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GossipStats {
    pub sent: u64,
    pub sent_bytes: u64,
    pub received: u64,
    /// Datagrams refused by the envelope check.
    pub refused_auth: u64,
    /// Datagrams or timers foca refused (malformed, stale, ...).
    pub refused_swim: u64,
}

#[derive(Debug)]
struct Scheduled {
    at: Duration,
    seq: u64,
    timer: Timer<MemberId>,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

pub struct Membership {
    swim: Swim,
    runtime: AccumulatingRuntime<MemberId>,
    timers: BinaryHeap<Reverse<Scheduled>>,
    timer_seq: u64,
    auth: GossipAuth,
    table: SharedTable,
    view: ClusterView,
    own: NodeState,
    last_publish: Duration,
    /// A member came up after our state was last published: publish it
    /// again at this time (at most once a heartbeat), so the newcomer
    /// learns what we hold (roles, contents) without waiting for the
    /// periodic refresh. A restarted edge would otherwise not know where
    /// a stream lives for up to [`STATE_REFRESH_HEARTBEATS`] heartbeats.
    greet_at: Option<Duration>,
    config: ClusterConfig,
    outbox: VecDeque<Transmit>,
    events: VecDeque<MembershipEvent>,
    stats: GossipStats,
    /// Where we announced ourselves, and when: retried while nobody
    /// answered (a lost announce would otherwise leave us alone for good,
    /// since periodic announces go to known members only).
    seeds: Vec<MemberId>,
    last_join: Duration,
    /// Members removed ([`Membership::remove`]) and not approved since:
    /// when another member still speaks of them (a renewed identity), they
    /// are declared down again rather than shown.
    removed: std::collections::BTreeSet<Hash32>,
}

/// Removed members remembered, at most (their datagrams stay refused by
/// the approvals whatever this remembers).
const MAX_REMOVED: usize = 4096;

impl Membership {
    /// A node that is not yet in a cluster; call [`Membership::join`].
    pub fn new(
        me: MemberId,
        initial: NodeState,
        config: ClusterConfig,
        auth: GossipAuth,
        seed: u64,
        expected_members: usize,
    ) -> Result<Self> {
        if auth.me() != me.key || initial.member != me.key {
            return Err(ClusterError::SenderMismatch {
                claimed: me.key,
                signer: auth.me(),
            });
        }
        let table = SharedTable::default();
        let handler = StateBroadcasts {
            table: table.clone(),
        };
        let foca_config = config.foca_config(auth.overhead(), expected_members);
        let swim = Foca::with_custom_broadcast(
            me,
            foca_config,
            Pcg64Mcg::seed_from_u64(seed),
            MemberCodec,
            handler,
        );
        let mut view = ClusterView::new(me.key);
        view.member_up(me);
        let mut node = Self {
            swim,
            runtime: AccumulatingRuntime::new(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            auth,
            table,
            view,
            own: initial.clone(),
            last_publish: Duration::ZERO,
            greet_at: None,
            config,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            stats: GossipStats::default(),
            seeds: Vec::new(),
            last_join: Duration::ZERO,
            removed: std::collections::BTreeSet::new(),
        };
        node.publish(initial, Duration::ZERO)?;
        Ok(node)
    }

    pub fn id(&self) -> &MemberId {
        self.swim.identity()
    }

    pub fn view(&self) -> &ClusterView {
        &self.view
    }

    pub fn own_state(&self) -> &NodeState {
        &self.own
    }

    pub fn auth_mut(&mut self) -> &mut GossipAuth {
        &mut self.auth
    }

    pub fn stats(&self) -> GossipStats {
        self.stats
    }

    /// Members foca holds active (alive or suspect), not counting us.
    pub fn active_members(&self) -> usize {
        self.swim.num_members()
    }

    /// Announces this node to known members (the host, a seed list).
    pub fn join(&mut self, seeds: &[MemberId], now: Duration) -> Result<()> {
        self.seeds = seeds.to_vec();
        self.last_join = now;
        for seed in seeds {
            self.swim
                .announce(*seed, &mut self.runtime)
                .map_err(|e| ClusterError::Membership(e.to_string()))?;
        }
        self.flush(now);
        Ok(())
    }

    /// Leaves on purpose, so others need not wait for the failure detector.
    pub fn leave(&mut self, now: Duration) -> Result<()> {
        self.swim
            .leave_cluster(&mut self.runtime)
            .map_err(|e| ClusterError::Membership(e.to_string()))?;
        self.flush(now);
        Ok(())
    }

    /// MEMBER_REMOVE: `member`'s datagrams are refused from now on, foca
    /// declares it down (and tells the others), and the view forgets it at
    /// once rather than after `reconnect_timeout`. Returns whether it was
    /// known.
    pub fn remove(&mut self, member: &Hash32, now: Duration) -> bool {
        self.auth.revoke(member);
        if self.removed.len() < MAX_REMOVED {
            self.removed.insert(*member);
        }
        let ids: Vec<MemberId> = self
            .swim
            .iter_membership_state()
            .filter(|m| m.id().key == *member && m.state() != State::Down)
            .map(|m| *m.id())
            .collect();
        let downs = ids.iter().copied().map(Member::down);
        if self
            .swim
            .apply_many(downs, true, &mut self.runtime)
            .is_err()
        {
            self.stats.refused_swim += 1;
        }
        self.flush(now);
        let known = self.view.forget(member);
        if known {
            self.events.push_back(MembershipEvent::Forgotten(*member));
        }
        known || !ids.is_empty()
    }

    /// Spreads a new version of this node's state.
    pub fn publish(&mut self, mut state: NodeState, now: Duration) -> Result<()> {
        state.member = self.view.me();
        state.version = self.own.version + 1;
        let bytes = state.to_vec()?;
        self.swim
            .add_broadcast(&bytes)
            .map_err(|e| ClusterError::Membership(e.to_string()))?;
        self.view.upsert_state(state.clone());
        self.own = state;
        self.last_publish = now;
        // Published from now on: members already up will hear it.
        self.greet_at = None;
        self.flush(now);
        Ok(())
    }

    /// One datagram from the network. Refused datagrams change nothing.
    pub fn handle_datagram(&mut self, datagram: &[u8], now: Duration) -> Result<()> {
        let opened = self.auth.open(datagram).inspect_err(|_| {
            self.stats.refused_auth += 1;
        })?;
        // Our codec puts the sender's key first: it must be the signer, or
        // an approved member could speak for another.
        let claimed = opened
            .payload
            .get(..Hash32::SIZE)
            .and_then(|k| Hash32::from_slice(k).ok())
            .ok_or(ClusterError::Malformed("gossip header"))?;
        if claimed != opened.sender {
            self.stats.refused_auth += 1;
            return Err(ClusterError::SenderMismatch {
                claimed,
                signer: opened.sender,
            });
        }
        self.stats.received += 1;
        let result = self.swim.handle_data(opened.payload, &mut self.runtime);
        self.flush(now);
        result.map_err(|e| {
            self.stats.refused_swim += 1;
            ClusterError::Membership(e.to_string())
        })
    }

    /// When [`Membership::handle_timeout`] is next due: foca's next timer,
    /// or the next join retry while nobody has answered our announce.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let timer = self.timers.peek().map(|Reverse(s)| s.at);
        [timer, self.rejoin_due(), self.greet_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// When to announce again: a heartbeat after the last announce, while
    /// we know no member. foca schedules no timer before it is connected,
    /// so a lost announce (or a lost answer) must be retried from here, or
    /// a driver that sleeps until [`Membership::poll_timeout`] would wait
    /// for ever, alone, and no member would ever learn of it.
    pub(crate) fn rejoin_due(&self) -> Option<Duration> {
        (self.swim.num_members() == 0 && !self.seeds.is_empty())
            .then(|| self.last_join + self.config.heartbeat_interval)
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        while self.timers.peek().is_some_and(|Reverse(s)| s.at <= now) {
            let Some(Reverse(due)) = self.timers.pop() else {
                break;
            };
            if self
                .swim
                .handle_timer(due.timer, &mut self.runtime)
                .is_err()
            {
                self.stats.refused_swim += 1;
            }
            self.flush(now);
        }
        if self.rejoin_due().is_some_and(|due| due <= now) {
            let seeds = std::mem::take(&mut self.seeds);
            let _ = self.join(&seeds, now);
        }
        self.refresh_suspects();
        for gone in self.view.expire(now, self.config.reconnect_timeout) {
            self.events.push_back(MembershipEvent::Forgotten(gone));
        }
        // States stop spreading after foca's retransmissions; refresh ours
        // so members that join later learn it too: soon after one comes
        // up, and every few heartbeats anyway.
        let greet = self.greet_at.is_some_and(|at| at <= now);
        if greet
            || now.saturating_sub(self.last_publish)
                >= self.config.heartbeat_interval * STATE_REFRESH_HEARTBEATS
        {
            let state = self.own.clone();
            let _ = self.publish(state, now);
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.outbox.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<MembershipEvent> {
        self.events.pop_front()
    }

    fn refresh_suspects(&mut self) {
        for member in self.swim.iter_membership_state() {
            let key = member.id().key;
            let current = self.view.get(&key).map(|i| i.liveness);
            match (member.state(), current) {
                (State::Suspect, Some(Liveness::Alive)) => {
                    self.view.set_liveness(key, Liveness::Suspect);
                }
                (State::Alive, Some(Liveness::Suspect)) => {
                    self.view.set_liveness(key, Liveness::Alive);
                }
                _ => {}
            }
        }
    }

    fn flush(&mut self, now: Duration) {
        while let Some((to, payload)) = self.runtime.to_send() {
            match self.auth.seal(&payload) {
                Ok(datagram) => {
                    self.stats.sent += 1;
                    self.stats.sent_bytes += datagram.len() as u64;
                    self.outbox.push_back(Transmit { to, datagram });
                }
                Err(_) => self.stats.refused_swim += 1,
            }
        }
        while let Some((after, timer)) = self.runtime.to_schedule() {
            self.timer_seq += 1;
            self.timers.push(Reverse(Scheduled {
                at: now + after,
                seq: self.timer_seq,
                timer,
            }));
        }
        let mut redown = Vec::new();
        while let Some(notification) = self.runtime.to_notify() {
            match notification {
                OwnedNotification::MemberUp(id) | OwnedNotification::Rename(_, id)
                    if self.still_removed(&id.key) =>
                {
                    redown.push(Member::down(id));
                }
                OwnedNotification::MemberUp(id) | OwnedNotification::Rename(_, id) => {
                    self.view.member_up(id);
                    self.events.push_back(MembershipEvent::MemberUp(id));
                    let soonest = self.last_publish + self.config.heartbeat_interval;
                    self.greet_at.get_or_insert(soonest.max(now));
                }
                OwnedNotification::MemberDown(id) => {
                    self.view
                        .set_liveness(id.key, Liveness::Down { since: now });
                    self.events.push_back(MembershipEvent::MemberDown(id));
                }
                _ => {}
            }
        }
        let changed = std::mem::take(&mut lock(&self.table).changed);
        for member in changed {
            if member == self.view.me() || !self.auth.is_approved(&member) {
                continue;
            }
            let state = lock(&self.table).states.get(&member).cloned();
            if let Some(state) = state {
                self.view.upsert_state(state);
                self.events.push_back(MembershipEvent::StateChanged(member));
            }
        }
        // Once more at most: a down identity does not come up again.
        if !redown.is_empty() {
            if self
                .swim
                .apply_many(redown.into_iter(), true, &mut self.runtime)
                .is_err()
            {
                self.stats.refused_swim += 1;
            }
            self.flush(now);
        }
    }

    /// A removed member that nobody approved again since.
    fn still_removed(&mut self, member: &Hash32) -> bool {
        if !self.removed.contains(member) {
            return false;
        }
        if self.auth.is_approved(member) {
            self.removed.remove(member);
            return false;
        }
        true
    }
}
