//! Viewer failover: K viewers through the balancer, pinned to one edge;
//! that edge is SIGKILLed, and each viewer's time from the kill to its
//! first new frame from another server is taken. The killed edge is then
//! started again (same key) with its viewers, so every round starts from
//! a whole cluster and kills a different edge.

use super::super::report::Summary;
use super::super::viewer::{micros, new_histogram};
use super::api;
use super::balanced::{self, FAILOVER_LIMIT, Plan, Seen};
use super::egress::ms;
use super::report::FailoverRound;
use super::setup::Cluster;
use anyhow::{Context, Result};
use avrs_node::cluster::content_key;
use avrs_proto::Hash32;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How long the pinned viewers may take to play before the kill.
const PLAY_LIMIT: Duration = Duration::from_secs(25);
/// How long the restarted edge's viewers may take to play again.
const BACK_LIMIT: Duration = Duration::from_secs(20);
/// Distinct viewer errors kept per round.
const MAX_ERRORS: usize = 3;

/// Times from the kill, microseconds: to the viewer taking its server
/// as lost, to its session at the next server, to its first new frame.
pub struct Samples {
    pub detect: Histogram<u64>,
    pub rewatch: Histogram<u64>,
    pub failover: Histogram<u64>,
}

impl Default for Samples {
    fn default() -> Self {
        Self {
            detect: new_histogram(),
            rewatch: new_histogram(),
            failover: new_histogram(),
        }
    }
}

impl Samples {
    fn add(&mut self, other: &Self) -> Result<()> {
        self.detect.add(&other.detect).context("merge samples")?;
        self.rewatch.add(&other.rewatch).context("merge samples")?;
        self.failover
            .add(&other.failover)
            .context("merge samples")?;
        Ok(())
    }
}

fn id(hex: &str) -> Result<Hash32> {
    Hash32::from_hex(hex).with_context(|| format!("not a member id: {hex}"))
}

/// One round: `count` viewers pinned to edge `victim`, which is killed.
/// Adds the round's samples to `all`.
pub async fn round(
    cluster: &mut Cluster,
    victim: usize,
    count: usize,
    per_edge: usize,
    all: &mut Samples,
) -> Result<FailoverRound> {
    let victim_id = id(&cluster.servers[victim].id)?;
    let (seen, viewers) = pinned_viewers(cluster, victim, count).await?;
    let content = content_key(&cluster.settings.name).to_string();
    let victim_route = api::route(cluster.servers[victim].http, &content).await?;
    // Measured: the viewers playing on the victim, never lost before.
    let measured: Vec<&Seen> = seen
        .iter()
        .map(Arc::as_ref)
        .filter(|s| s.first.get().is_some_and(|(on, _)| *on == victim_id) && s.lost.get().is_none())
        .collect();
    let not_playing = seen.iter().filter(|s| s.first.get().is_none()).count();
    let killed_at = Instant::now();
    cluster.kill(victim);
    let done = |s: &Seen| s.resumed.get().is_some() || s.failed().is_some();
    api::wait_until(FAILOVER_LIMIT, || async {
        measured.iter().all(|s| done(s))
    })
    .await;
    drop(viewers);

    let tally = Tally::of(&measured, killed_at, victim_id, |id| label_of(cluster, id));
    let back_ms = bring_back(cluster, victim, per_edge).await?;
    all.add(&tally.samples)?;
    let resumed = usize::try_from(tally.samples.failover.len()).unwrap_or(usize::MAX);
    Ok(FailoverRound {
        victim: cluster.label(victim).to_owned(),
        victim_id: cluster.servers[victim].id.clone(),
        victim_depth: victim_route.as_ref().and_then(|r| r.depth),
        victim_children: victim_route.map_or(0, |r| r.children.len()),
        viewers: count,
        on_victim: measured.len(),
        not_playing,
        resumed,
        not_resumed: measured.len() - resumed,
        lost_again: tally.lost_again,
        detect_ms: Summary::from_micros(&tally.samples.detect),
        rewatch_ms: Summary::from_micros(&tally.samples.rewatch),
        failover_ms: Summary::from_micros(&tally.samples.failover),
        resumed_on: tally.resumed_on,
        errors: errors(&seen),
        back_ms,
    })
}

/// `count` viewers through the balancer, pinned to `victim` (every other
/// server excluded from their first request; the origin from all), once
/// each plays or has failed. They stop when the set drops.
async fn pinned_viewers(
    cluster: &Cluster,
    victim: usize,
    count: usize,
) -> Result<(Vec<Arc<Seen>>, JoinSet<()>)> {
    let pin = cluster
        .servers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 0 && *i != victim)
        .map(|(_, s)| id(&s.id))
        .collect::<Result<Vec<_>>>()?;
    let plan = Plan {
        balancer: cluster.balancer.quic,
        name: cluster.settings.name.clone(),
        pin,
        avoid: vec![id(&cluster.servers[0].id)?],
    };
    let seen: Vec<Arc<Seen>> = (0..count).map(|_| Arc::default()).collect();
    let mut viewers = JoinSet::new();
    for one in &seen {
        viewers.spawn(balanced::viewer(plan.clone(), one.clone()));
    }
    let settled = |s: &Seen| s.first.get().is_some() || s.failed().is_some();
    api::wait_until(PLAY_LIMIT, || async { seen.iter().all(|s| settled(s)) }).await;
    Ok((seen, viewers))
}

/// What the measured viewers of one round went through.
struct Tally {
    samples: Samples,
    resumed_on: BTreeMap<String, usize>,
    lost_again: usize,
}

impl Tally {
    /// Times from `killed_at`; a resume counts when it is on another
    /// server than `victim` and within [`FAILOVER_LIMIT`].
    fn of(
        measured: &[&Seen],
        killed_at: Instant,
        victim: Hash32,
        label: impl Fn(&Hash32) -> String,
    ) -> Self {
        let since_kill = |at: Instant| micros(at - killed_at).max(1);
        let mut tally = Self {
            samples: Samples::default(),
            resumed_on: BTreeMap::new(),
            lost_again: 0,
        };
        for one in measured {
            if let Some(lost) = one.lost.get() {
                tally.samples.detect.saturating_record(since_kill(*lost));
            }
            if let Some(at) = one.rewatched.get() {
                tally.samples.rewatch.saturating_record(since_kill(*at));
            }
            if one.losses.load(Ordering::Relaxed) > 1 {
                tally.lost_again += 1;
            }
            if let Some((on, at)) = one.resumed.get()
                && *on != victim
                && *at - killed_at <= FAILOVER_LIMIT
            {
                tally.samples.failover.saturating_record(since_kill(*at));
                *tally.resumed_on.entry(label(on)).or_default() += 1;
            }
        }
        tally
    }
}

/// Restarts the killed edge with its viewers: how long until they play
/// again (`None`: not within [`BACK_LIMIT`]).
async fn bring_back(cluster: &mut Cluster, victim: usize, per_edge: usize) -> Result<Option<f64>> {
    let started = Instant::now();
    cluster.restart(victim).await?;
    cluster.wait_sees_origin(victim).await?;
    cluster.watch_edge(victim, per_edge)?;
    let viewers = cluster.viewers[victim].as_ref();
    let back = api::wait_until(BACK_LIMIT, || async {
        viewers.is_some_and(|v| v.all_playing())
    })
    .await;
    Ok(back.then(|| ms(started.elapsed())))
}

/// The label of the server with this id.
fn label_of(cluster: &Cluster, id: &Hash32) -> String {
    let hex = id.to_hex();
    cluster
        .servers
        .iter()
        .find(|s| s.id == hex)
        .map_or_else(|| hex[..16].to_owned(), |s| s.label.clone())
}

/// The viewers' distinct errors (at most [`MAX_ERRORS`]), with counts.
fn errors(seen: &[Arc<Seen>]) -> BTreeMap<String, usize> {
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for error in seen.iter().filter_map(|s| s.failed()) {
        let known = errors.len();
        match errors.get_mut(&error) {
            Some(n) => *n += 1,
            None if known < MAX_ERRORS => {
                errors.insert(error, 1);
            }
            None => *errors.entry("(other errors)".into()).or_default() += 1,
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(
        on: u8,
        first: Instant,
        lost: Option<Duration>,
        resumed: Option<(u8, Duration)>,
    ) -> Seen {
        let one = Seen::default();
        let _ = one.first.set((Hash32([on; 32]), first));
        if let Some(after) = lost {
            let _ = one.lost.set(first + after);
            one.losses.store(1, Ordering::Relaxed);
        }
        if let Some((next, after)) = resumed {
            let _ = one.resumed.set((Hash32([next; 32]), first + after));
        }
        one
    }

    #[test]
    fn a_resume_counts_on_another_server_within_the_limit() {
        let killed_at = Instant::now();
        let ok = seen(
            1,
            killed_at,
            Some(Duration::from_secs(1)),
            Some((2, Duration::from_millis(1100))),
        );
        let late = seen(
            1,
            killed_at,
            Some(Duration::from_secs(1)),
            Some((2, Duration::from_secs(11))),
        );
        let same = seen(
            1,
            killed_at,
            Some(Duration::from_secs(1)),
            Some((1, Duration::from_secs(2))),
        );
        let never = seen(1, killed_at, None, None);
        let tally = Tally::of(
            &[&ok, &late, &same, &never],
            killed_at,
            Hash32([1; 32]),
            |id| format!("s{}", id.0[0]),
        );
        assert_eq!(tally.samples.failover.len(), 1);
        assert_eq!(tally.samples.detect.len(), 3);
        assert_eq!(tally.resumed_on, BTreeMap::from([("s2".to_owned(), 1)]));
        let p50 = tally.samples.failover.value_at_quantile(0.5);
        assert!((1_099_000..=1_101_000).contains(&p50), "{p50}");
    }
}
