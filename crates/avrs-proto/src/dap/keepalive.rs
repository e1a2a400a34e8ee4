//! When to probe the peer and when to give up on it. Time is a value the
//! driver passes in: nothing here reads a clock or sleeps.
//!
//! Every interval ([`STREAM_KEEPALIVE_TIMEOUT`], 3 s) the driver calls
//! [`Keepalive::on_tick`]. If the peer sent anything since the last tick,
//! nothing happens. Otherwise we send a `KEEPALIVE` (the peer answers
//! `ALIVE`), and after `dead_after_missed` silent intervals in a row the
//! peer is declared dead.
//!
//! Unlike the reference, only *received* traffic counts: on a one-way
//! stream our own sending proves nothing about the peer, so we keep probing.

use std::time::{Duration, Instant};

use super::STREAM_KEEPALIVE_TIMEOUT;

/// Settings of a [`Keepalive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepaliveConfig {
    /// Time between ticks; should be above zero.
    pub interval: Duration,
    /// Silent intervals in a row after which the peer is dead; `None`
    /// never gives up (the reference's behaviour).
    pub dead_after_missed: Option<u32>,
}

impl Default for KeepaliveConfig {
    /// 3 s ticks; dead after 4 silent intervals (12 s, 3 probes unanswered).
    fn default() -> Self {
        Self {
            interval: STREAM_KEEPALIVE_TIMEOUT,
            dead_after_missed: Some(4),
        }
    }
}

/// What the driver must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepaliveAction {
    /// Write a `KEEPALIVE` frame.
    SendKeepalive,
    /// Write an `ALIVE` frame (the answer to the peer's keepalive).
    SendAlive,
    /// The peer has been silent too long: close the stream.
    PeerDead,
}

/// The keepalive state of one stream.
#[derive(Debug, Clone)]
pub struct Keepalive {
    config: KeepaliveConfig,
    /// `None` when the interval is too long to represent: never tick.
    next_tick: Option<Instant>,
    heard_from_peer: bool,
    missed: u32,
    dead: bool,
}

impl Keepalive {
    pub fn new(config: KeepaliveConfig, now: Instant) -> Self {
        Self {
            config,
            next_tick: now.checked_add(config.interval),
            heard_from_peer: false,
            missed: 0,
            dead: false,
        }
    }

    /// Call for every packet received from the peer.
    pub fn on_traffic(&mut self) {
        self.heard_from_peer = true;
    }

    /// Call when a `KEEPALIVE` arrives; it also counts as traffic.
    pub fn on_keepalive(&mut self) -> KeepaliveAction {
        self.on_traffic();
        KeepaliveAction::SendAlive
    }

    /// When the driver should call [`Self::on_tick`] next (`None`: never).
    pub fn next_tick(&self) -> Option<Instant> {
        self.next_tick
    }

    /// Silent intervals in a row so far.
    pub fn missed(&self) -> u32 {
        self.missed
    }

    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Advances to `now`. Calling early is harmless (nothing happens);
    /// once dead, it keeps answering [`KeepaliveAction::PeerDead`].
    pub fn on_tick(&mut self, now: Instant) -> Option<KeepaliveAction> {
        if self.dead {
            return Some(KeepaliveAction::PeerDead);
        }
        if self.next_tick.is_none_or(|tick| now < tick) {
            return None;
        }
        // From `now`, not from the old deadline: a late tick sends one
        // probe, not a burst of them.
        self.next_tick = now.checked_add(self.config.interval);
        if std::mem::take(&mut self.heard_from_peer) {
            self.missed = 0;
            return None;
        }
        self.missed = self.missed.saturating_add(1);
        if self
            .config
            .dead_after_missed
            .is_some_and(|n| self.missed >= n)
        {
            self.dead = true;
            return Some(KeepaliveAction::PeerDead);
        }
        Some(KeepaliveAction::SendKeepalive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn start() -> (Keepalive, Instant) {
        let t0 = Instant::now();
        (Keepalive::new(KeepaliveConfig::default(), t0), t0)
    }

    #[test]
    fn interval_is_3_seconds() {
        assert_eq!(STREAM_KEEPALIVE_TIMEOUT, 3 * S);
        let (k, t0) = start();
        assert_eq!(k.next_tick(), Some(t0 + 3 * S));
    }

    #[test]
    fn nothing_happens_before_the_tick() {
        let (mut k, t0) = start();
        assert_eq!(k.on_tick(t0 + 2 * S), None);
        assert_eq!(k.missed(), 0);
    }

    #[test]
    fn silence_sends_a_keepalive_and_traffic_clears_the_count() {
        let (mut k, t0) = start();
        assert_eq!(k.on_tick(t0 + 3 * S), Some(KeepaliveAction::SendKeepalive));
        assert_eq!(k.missed(), 1);
        assert_eq!(k.next_tick(), Some(t0 + 6 * S));
        k.on_traffic();
        assert_eq!(k.on_tick(t0 + 6 * S), None);
        assert_eq!(k.missed(), 0);
        // The flag is cleared by the tick: the next silent interval probes.
        assert_eq!(k.on_tick(t0 + 9 * S), Some(KeepaliveAction::SendKeepalive));
    }

    #[test]
    fn a_received_keepalive_is_answered_and_counts_as_traffic() {
        let (mut k, t0) = start();
        assert_eq!(k.on_keepalive(), KeepaliveAction::SendAlive);
        assert_eq!(k.on_tick(t0 + 3 * S), None);
    }

    #[test]
    fn peer_is_dead_after_n_silent_intervals_and_stays_dead() {
        let (mut k, t0) = start();
        for i in 1..=3 {
            assert_eq!(
                k.on_tick(t0 + 3 * i * S),
                Some(KeepaliveAction::SendKeepalive)
            );
        }
        assert!(!k.is_dead());
        assert_eq!(k.on_tick(t0 + 12 * S), Some(KeepaliveAction::PeerDead));
        assert!(k.is_dead());
        k.on_traffic();
        assert_eq!(k.on_tick(t0 + 12 * S), Some(KeepaliveAction::PeerDead));
    }

    #[test]
    fn without_a_dead_limit_it_probes_forever() {
        let config = KeepaliveConfig {
            dead_after_missed: None,
            ..KeepaliveConfig::default()
        };
        let t0 = Instant::now();
        let mut k = Keepalive::new(config, t0);
        for i in 1..=100 {
            assert_eq!(
                k.on_tick(t0 + 3 * i * S),
                Some(KeepaliveAction::SendKeepalive)
            );
        }
    }

    #[test]
    fn a_late_tick_probes_once_and_reschedules_from_now() {
        let (mut k, t0) = start();
        assert_eq!(k.on_tick(t0 + 10 * S), Some(KeepaliveAction::SendKeepalive));
        assert_eq!(k.missed(), 1);
        assert_eq!(k.next_tick(), Some(t0 + 13 * S));
    }

    #[test]
    fn an_unrepresentable_interval_never_ticks() {
        let config = KeepaliveConfig {
            interval: Duration::MAX,
            dead_after_missed: Some(1),
        };
        let t0 = Instant::now();
        let mut k = Keepalive::new(config, t0);
        assert_eq!(k.next_tick(), None);
        assert_eq!(k.on_tick(t0 + 1000 * S), None);
    }
}
