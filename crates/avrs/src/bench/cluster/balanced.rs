//! A viewer through the balancer, as `avrs play --balance` plays: a
//! BALANCE_REQUEST to the balancer, then a session at the server it names.
//! When that server is lost (connection gone, or no frame for [`STALL`])
//! it asks again without it, and resumes where the next server is. Each
//! viewer notes when it lost its server and when it played its first
//! frame newer than the last one before the loss (the first frame a
//! player writes after a failover: the next server starts at its newest
//! keyframe, which may repeat frames already played).

use anyhow::{Result, bail};
use avrs_media::TrackKind;
use avrs_node::native::client::{ClientOptions, Session, Watch};
use avrs_proto::Hash32;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// No frame for this long: the server is lost (`avrs play --balance`'s
/// `STALL`).
pub const STALL: Duration = Duration::from_secs(1);
/// How long a failover keeps asking (`avrs play --balance`'s limit).
pub const FAILOVER_LIMIT: Duration = Duration::from_secs(10);
/// How long the first server may take to play.
const START_LIMIT: Duration = Duration::from_secs(20);
/// Between two attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Where a viewer asks, what for, and which servers it never uses.
#[derive(Debug, Clone)]
pub struct Plan {
    pub balancer: SocketAddr,
    pub name: String,
    /// Excluded from the first request only: pins the viewer to one server.
    pub pin: Vec<Hash32>,
    /// Excluded from every request (the origin, as `avrs play --avoid`).
    pub avoid: Vec<Hash32>,
}

/// What one viewer went through.
#[derive(Debug, Default)]
pub struct Seen {
    /// The first server, and when it played its first video frame.
    pub first: OnceLock<(Hash32, Instant)>,
    /// When it first took its server as lost.
    pub lost: OnceLock<Instant>,
    /// When a session at the next server first started (the balancer
    /// answered and the server took the CONTENT_ADD).
    pub rewatched: OnceLock<Instant>,
    /// Servers it took as lost (more than one: the next server was silent
    /// too, e.g. an edge re-routing after its parent died).
    pub losses: AtomicU32,
    /// The next server, and its first new video frame.
    pub resumed: OnceLock<(Hash32, Instant)>,
    pub error: Mutex<Option<String>>,
}

impl Seen {
    fn fail(&self, err: &anyhow::Error) {
        let mut error = self.error.lock().unwrap_or_else(|e| e.into_inner());
        *error = Some(format!("{err:#}"));
    }

    pub fn failed(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Plays until aborted; records in `seen`.
pub async fn viewer(plan: Plan, seen: std::sync::Arc<Seen>) {
    if let Err(err) = play(&plan, &seen).await {
        seen.fail(&err);
    }
}

async fn play(plan: &Plan, seen: &Seen) -> Result<()> {
    let mut first_ask = plan.pin.clone();
    first_ask.extend(&plan.avoid);
    // Pinned: a server not ready yet is asked again, never skipped.
    let (mut server, mut watch) = keep_asking(plan, first_ask, START_LIMIT, false).await?;
    let mut newest: Option<i64> = None;
    let mut after_loss = false;
    loop {
        let frame = match tokio::time::timeout(STALL, watch.next_frame()).await {
            Ok(Ok(Some(frame))) => frame,
            // Ended, broken or silent: lost, as for `avrs play --balance`.
            _ => {
                let _ = seen.lost.set(Instant::now());
                seen.losses.fetch_add(1, Ordering::Relaxed);
                after_loss = true;
                let mut exclude = plan.avoid.clone();
                exclude.push(server);
                drop(watch);
                (server, watch) = keep_asking(plan, exclude, FAILOVER_LIMIT, true).await?;
                let _ = seen.rewatched.set(Instant::now());
                continue;
            }
        };
        if frame.media.track != TrackKind::Video || frame.media.data.is_empty() {
            continue;
        }
        let dts = frame.media.dts;
        if newest.is_some_and(|n| dts <= n) {
            continue;
        }
        newest = Some(dts);
        let now = Instant::now();
        if after_loss {
            let _ = seen.resumed.set((server, now));
        } else {
            let _ = seen.first.set((server, now));
        }
    }
}

/// Asks the balancer (without `exclude`) and watches where it says, until
/// a watch starts or `limit` has passed; with `skip_failing`, a server
/// that fails is excluded afterwards (as `avrs play --balance` does).
async fn keep_asking(
    plan: &Plan,
    mut exclude: Vec<Hash32>,
    limit: Duration,
    skip_failing: bool,
) -> Result<(Hash32, Watch)> {
    let deadline = Instant::now() + limit;
    loop {
        match ask(plan, &exclude).await {
            Ok(found) => return Ok(found),
            Err((server, err)) => {
                if Instant::now() >= deadline {
                    return Err(err.context("no server to play on"));
                }
                if skip_failing {
                    exclude.extend(server);
                }
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

/// One BALANCE_REQUEST and a watch at the server named: the server and
/// the watch, or the error (with the server when it was the one failing).
async fn ask(
    plan: &Plan,
    exclude: &[Hash32],
) -> Result<(Hash32, Watch), (Option<Hash32>, anyhow::Error)> {
    let answer = async {
        let mut balancer = Session::connect(plan.balancer, options()).await?;
        balancer.balance(&plan.name, exclude).await
    };
    let (server, address) = answer.await.map_err(|err| (None, err))?;
    let watched = async {
        let session = Session::connect(address, options()).await?;
        session.watch(&plan.name).await
    };
    match watched.await {
        Ok(watch) => Ok((server, watch)),
        Err(err) => Err((Some(server), err)),
    }
}

/// A fresh key per connection; no signature checks (one machine stands in
/// for many players, as in `avrs bench`).
fn options() -> ClientOptions {
    ClientOptions {
        verify_signatures: false,
        ..ClientOptions::default()
    }
}

/// The BALANCE_REQUEST exclude list may name at most this many servers.
pub fn check_pin(pin_and_avoid: usize) -> Result<()> {
    let most = avrs_proto::avrs::cluster::MAX_EXCLUDED;
    if pin_and_avoid > most {
        bail!(
            "failover viewers are pinned to one edge by excluding every other server \
             (at most {most} in a BALANCE_REQUEST): use at most {most} edges, or --failover-rounds 0"
        );
    }
    Ok(())
}
