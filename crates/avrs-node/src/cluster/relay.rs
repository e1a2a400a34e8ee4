//! Relays: a content this node lacks is pulled once, over native QUIC,
//! from the member `route_find` picks, and published into the local
//! registry, where every local viewer and every member pulling from us
//! shares it. The native client checks each frame's signature against the
//! signer the parent announces and drops (and counts) frames that fail;
//! frames go on with the origin's position, times and signature
//! ([`avrs_core::live::Upstream`]), so native viewers here verify the
//! origin end to end and this node never signs what it did not ingest; a
//! stalled or lost parent is replaced by the next best holder while local
//! viewers keep their subscription. The relay stops when nobody has
//! watched it for a grace period.

use super::{Cluster, content_key, lock};
use crate::context::NodeContext;
use crate::native::ROUTE_ADD_NOT_A_MEMBER as NOT_A_MEMBER_YET;
use crate::native::client::{ClientOptions, Session, WatchRefused};
use avrs_cluster::{Requester, plan_route};
use avrs_core::live::{LiveContent, Publisher, PushError, TrackConfigs, Upstream};
use avrs_media::TrackKind;
use avrs_proto::Hash32;
use avrs_proto::avrs::quic::ContentOrigin;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A frame gap longer than this means the parent is gone.
const STALL: Duration = Duration::from_millis(800);
/// A relay nobody watches stops after this long.
const IDLE_GRACE: Duration = Duration::from_secs(5);
/// How long a relay looks for a parent before giving up.
const NO_ROUTE_GIVE_UP: Duration = Duration::from_secs(3);
/// How long a relay keeps asking a parent that does not know it as a
/// member yet (it just joined: gossip has not reached the parent), before
/// trying elsewhere; and the pause between asks.
const NOT_KNOWN_PATIENCE: Duration = Duration::from_millis(1500);
const NOT_KNOWN_RETRY: Duration = Duration::from_millis(100);

/// Where a relayed content comes from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayInfo {
    /// The member we pull from; `None` while looking for one.
    pub parent: Option<Hash32>,
    pub depth: u8,
}

/// The relays running on this node, by content name.
#[derive(Debug, Default)]
pub struct Relays {
    running: std::sync::Mutex<HashMap<String, RelayInfo>>,
    /// Frames dropped because their signature did not verify.
    pub corrupted: AtomicU64,
    /// Parents lost and replaced.
    pub reroutes: AtomicU64,
}

impl Relays {
    pub fn info(&self, name: &str) -> Option<RelayInfo> {
        lock(&self.running).get(name).copied()
    }

    fn set(&self, name: &str, info: RelayInfo) {
        lock(&self.running).insert(name.to_owned(), info);
    }

    /// Starts relaying `name` unless it runs already. False when no live
    /// member holds it (nothing to pull).
    pub fn ensure(&self, context: &Arc<NodeContext>, cluster: &Arc<Cluster>, name: &str) -> bool {
        let mut running = lock(&self.running);
        if running.contains_key(name) {
            return true;
        }
        if find_parent(cluster, name, &[]).is_none() {
            return false;
        }
        running.insert(
            name.to_owned(),
            RelayInfo {
                parent: None,
                depth: 0,
            },
        );
        tokio::spawn(run(context.clone(), cluster.clone(), name.to_owned()));
        true
    }
}

/// The best attached holder of `name` and its native address.
fn find_parent(
    cluster: &Cluster,
    name: &str,
    exclude: &[Hash32],
) -> Option<(Hash32, u8, std::net::SocketAddr)> {
    let view = cluster.view();
    let requester = Requester {
        member: cluster.me,
        region: cluster.region,
    };
    let key = content_key(name);
    let depth_cap = cluster.config.max_relay_depth;
    let route = plan_route(key, requester, &view, exclude, depth_cap).ok()?;
    let state = view.get(&route.parent)?.state.as_ref()?;
    // Never pull from a member that pulls from us (a two-node loop).
    if state.location(key)?.parent == Some(cluster.me) {
        return None;
    }
    Some((
        route.parent,
        route.depth,
        state.service.socket(state.service.quic)?,
    ))
}

/// Why one pull from one parent ended.
enum PullEnd {
    /// The origin ended the content.
    Ended,
    /// Nobody watched for [`IDLE_GRACE`].
    Idle,
    /// The parent stalled, refused or went away.
    Lost,
    /// The parent refused ROUTE_ADD because it does not see us as a live
    /// member yet.
    NotKnownYet,
    /// A publisher of this node took the name: the content is its now.
    TakenOver,
}

async fn run(context: Arc<NodeContext>, cluster: Arc<Cluster>, name: String) {
    let mut relay = Relay {
        publisher: None,
        last_dts: [None, None],
        last_configs: None,
        origin: None,
        watched_at: Instant::now(),
    };
    let mut exclude: Vec<Hash32> = Vec::new();
    let mut searching_since = Instant::now();
    // Since when the parent we keep asking has not known us.
    let mut unknown_since: Option<(Hash32, Instant)> = None;
    let key = content_key(&name);
    cluster.routes.want(key);
    let end = loop {
        if cluster.shutdown.is_cancelled() {
            break PullEnd::Idle;
        }
        let Some((parent, depth, addr)) = find_parent(&cluster, &name, &exclude) else {
            if searching_since.elapsed() > NO_ROUTE_GIVE_UP {
                break PullEnd::Lost;
            }
            // Excluded parents may be fine again; gossip may bring new ones.
            exclude.clear();
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        cluster.relays.set(
            &name,
            RelayInfo {
                parent: None,
                depth,
            },
        );
        match relay.pull(&context, &cluster, &name, parent, addr).await {
            PullEnd::NotKnownYet => {
                let since = match unknown_since {
                    Some((asked, since)) if asked == parent => since,
                    _ => Instant::now(),
                };
                unknown_since = Some((parent, since));
                if since.elapsed() < NOT_KNOWN_PATIENCE {
                    // Same parent again: going deeper in the tree would
                    // only be a worse route.
                    tokio::time::sleep(NOT_KNOWN_RETRY).await;
                } else {
                    tracing::info!(stream = %name, parent = %parent.to_hex(), "relay: parent still does not know us, trying elsewhere");
                    exclude.push(parent);
                    unknown_since = None;
                }
            }
            PullEnd::Lost => {
                // Detached: our children re-route too (ROUTE_DEL), so we
                // never attach below one of them.
                cluster.routes.parent_lost(key);
                tracing::info!(stream = %name, parent = %parent.to_hex(), "relay: parent lost, re-routing");
                cluster.relays.reroutes.fetch_add(1, Ordering::Relaxed);
                exclude.push(parent);
                searching_since = Instant::now();
            }
            other => break other,
        }
    };
    lock(&cluster.relays.running).remove(&name);
    cluster.routes.dropped(key);
    // Lost for good (any other end): viewers see the end after the
    // reconnect timeout.
    if let (Some(publisher), PullEnd::Ended | PullEnd::Idle) = (relay.publisher.take(), end) {
        publisher.finish();
    }
    tracing::info!(stream = %name, "relay: stopped");
}

struct Relay {
    publisher: Option<Publisher>,
    /// Newest decode time pushed per track, so frames a new parent
    /// repeats after a re-route are not pushed twice.
    last_dts: [Option<i64>; 2],
    last_configs: Option<Arc<TrackConfigs>>,
    /// Who signed the newest frame pulled.
    origin: Option<Arc<ContentOrigin>>,
    watched_at: Instant,
}

impl Relay {
    async fn pull(
        &mut self,
        context: &Arc<NodeContext>,
        cluster: &Cluster,
        name: &str,
        parent: Hash32,
        addr: std::net::SocketAddr,
    ) -> PullEnd {
        // Signed with the member key: the parent knows which member asks.
        let options = match cluster.key.duplicate() {
            // SEALED frames (an ENCRYPTED content) go on unopened: a relay
            // holds no key.
            Ok(key) => ClientOptions {
                key: Some(key),
                open_sealed: false,
                ..ClientOptions::default()
            },
            Err(err) => {
                tracing::error!(%err, "relay: cannot use the member key");
                return PullEnd::Lost;
            }
        };
        let session = match Session::connect(addr, options).await {
            Ok(session) => session,
            Err(err) => {
                tracing::debug!(%err, stream = %name, "relay: cannot connect to the parent");
                return PullEnd::Lost;
            }
        };
        let request = avrs_proto::avrs::quic::ContentRequest {
            relay: true,
            ..avrs_proto::avrs::quic::ContentRequest::watch(name)
        };
        let mut watch = match session.watch_request(request).await {
            Ok(watch) => watch,
            Err(err) => {
                tracing::debug!(%err, stream = %name, "relay: parent refused");
                return match err.downcast_ref::<WatchRefused>() {
                    Some(refused) if refused.reply.text == NOT_A_MEMBER_YET => PullEnd::NotKnownYet,
                    _ => PullEnd::Lost,
                };
            }
        };
        // ROUTE_ADD answered: record the grant's path (refused if it
        // names us or is too deep: rule 2 of the route table).
        let granted = match watch.route.clone() {
            Some(path) => cluster.routes.attached(content_key(name), path),
            None => Err(avrs_cluster::ClusterError::NotAttached),
        };
        let depth = match granted {
            Ok(depth) => depth,
            Err(err) => {
                tracing::info!(%err, stream = %name, parent = %parent.to_hex(), "relay: grant not usable");
                return PullEnd::Lost;
            }
        };
        cluster.relays.set(
            name,
            RelayInfo {
                parent: Some(parent),
                depth,
            },
        );
        tracing::info!(stream = %name, parent = %parent.to_hex(), depth, "relay: pulling");
        let mut corrupted_seen = 0;
        loop {
            if cluster.shutdown.is_cancelled() {
                return PullEnd::Idle;
            }
            if self.idle_for(IDLE_GRACE) {
                return PullEnd::Idle;
            }
            let frame = match tokio::time::timeout(STALL, watch.next_frame()).await {
                Ok(Ok(Some(frame))) => frame,
                Ok(Ok(None)) => return PullEnd::Ended,
                Ok(Err(_)) | Err(_) => return PullEnd::Lost,
            };
            let corrupted = watch.check_stats().corrupted;
            if corrupted > corrupted_seen {
                cluster
                    .relays
                    .corrupted
                    .fetch_add(corrupted - corrupted_seen, Ordering::Relaxed);
                corrupted_seen = corrupted;
            }
            if let Some(signed) = &frame.signed {
                self.follow_origin(context, name, &signed.origin);
            }
            let track = usize::from(frame.media.track == TrackKind::Audio);
            if self.last_dts[track].is_some_and(|last| frame.media.dts <= last) {
                continue;
            }
            let new_configs = self.last_configs.as_ref() != Some(&frame.configs);
            self.last_dts[track] = Some(frame.media.dts);
            if new_configs {
                self.last_configs = Some(frame.configs.clone());
            }
            let Some(publisher) = self.publisher(context, name) else {
                return PullEnd::Ended;
            };
            if new_configs {
                publisher.set_configs((*frame.configs).clone());
            }
            // Checked once here; forwarded with the origin's signature so
            // viewers of this relay verify the origin, not this node.
            let pushed = match frame.signed {
                Some(signed) => {
                    let upstream = Upstream {
                        origin: signed.origin,
                        seq: frame.seq,
                        dts: frame.media.dts,
                        pts: frame.media.pts,
                        discontinuity: frame.discontinuity,
                        signature: signed.signature,
                        sealed: frame.sealed,
                    };
                    publisher.push_relayed(frame.media, upstream, Instant::now())
                }
                // Sealed and unsigned cannot be vouched for: never re-signed
                // here as if this node had ingested it.
                None if frame.sealed => continue,
                None => publisher.push(frame.media, Instant::now()),
            };
            if let Err(PushError::TakenOver) = pushed {
                tracing::info!(stream = %name, "relay: a local publisher took the content over");
                return PullEnd::TakenOver;
            }
        }
    }

    /// A frame of another origin than the last ones: the publisher came
    /// back on another server (a new content there, its own times). Here
    /// that is a publisher reconnect: the local content goes on with a
    /// discontinuity and rebased times, and the old origin's newest times
    /// no longer say what is a repeat.
    fn follow_origin(
        &mut self,
        context: &Arc<NodeContext>,
        name: &str,
        origin: &Arc<ContentOrigin>,
    ) {
        let same = self
            .origin
            .as_ref()
            .is_none_or(|last| Arc::ptr_eq(last, origin) || **last == **origin);
        if !same {
            tracing::info!(stream = %name, "relay: the content has a new origin; continuing with a discontinuity");
            // Dropping the publisher opens the reconnect window; taking the
            // name again marks the discontinuity.
            self.publisher = None;
            self.last_dts = [None, None];
            self.last_configs = None;
            self.publisher(context, name);
        }
        self.origin = Some(origin.clone());
    }

    /// The local content, made on the first frame. `None` when a local
    /// publisher took the name meanwhile.
    fn publisher(&mut self, context: &Arc<NodeContext>, name: &str) -> Option<&Publisher> {
        if self.publisher.is_none() {
            match context.registry.publish_relayed(name, Instant::now()) {
                Ok(publisher) => self.publisher = Some(publisher),
                Err(err) => {
                    tracing::info!(%err, stream = %name, "relay: name taken locally");
                    return None;
                }
            }
        }
        self.publisher.as_ref()
    }

    /// True when nobody (viewer or child) has watched for `grace`.
    fn idle_for(&mut self, grace: Duration) -> bool {
        let watched = self
            .publisher
            .as_ref()
            .is_none_or(|p| watchers(p.content()) > 0);
        if watched {
            self.watched_at = Instant::now();
        }
        self.watched_at.elapsed() > grace
    }
}

fn watchers(content: &LiveContent) -> u32 {
    content.stats.total_viewers()
}
