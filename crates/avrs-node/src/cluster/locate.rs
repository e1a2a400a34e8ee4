//! The hook every viewer output (HTTP-FLV, LL-HLS, RTMP, native) calls for
//! a name that is not live here: if a member holds it, start the relay and
//! wait (at most [`WAIT_FOR_RELAY`]) for it to appear, instead of refusing
//! at once.

use crate::context::NodeContext;
use avrs_core::live::LiveContent;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Longest a viewer waits for a relay to start.
pub const WAIT_FOR_RELAY: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(20);
/// While no member is known to hold the content, how often to look again
/// (a route search each time: a bogus name must stay cheap).
const LOOK_AGAIN: Duration = Duration::from_millis(200);

/// The live content `name` (`live/NAME`): local, or relayed from the
/// cluster. `None` when no member holds it or the relay did not start in
/// time.
pub async fn find_live(context: &Arc<NodeContext>, name: &str) -> Option<Arc<LiveContent>> {
    if let Some(content) = live_here(context, name) {
        return Some(content);
    }
    let cluster = context.cluster.get()?;
    // A stream published a moment ago may not be gossiped here yet: keep
    // looking for a holder until the relay starts or the wait is over.
    let deadline = Instant::now() + WAIT_FOR_RELAY;
    let mut relaying = false;
    let mut next_look = Instant::now();
    while Instant::now() < deadline {
        if !relaying && Instant::now() >= next_look {
            relaying = cluster.relays.ensure(context, cluster, name);
            next_look = Instant::now() + LOOK_AGAIN;
        }
        tokio::time::sleep(POLL).await;
        if let Some(content) = live_here(context, name) {
            return Some(content);
        }
    }
    None
}

/// Starts relaying `name` when it is not live here and a member holds it
/// (the relay then publishes it locally). False when nothing was started.
pub fn start_relay(context: &Arc<NodeContext>, name: &str) -> bool {
    if live_here(context, name).is_some() {
        return false;
    }
    let Some(cluster) = context.cluster.get() else {
        return false;
    };
    cluster.relays.ensure(context, cluster, name)
}

fn live_here(context: &NodeContext, name: &str) -> Option<Arc<LiveContent>> {
    context.registry.get(name).filter(|c| !c.is_ended())
}

/// For LL-HLS: when `name` is not packaged here, relay it and wait (at
/// most [`WAIT_FOR_RELAY`]) until its packager runs.
pub async fn wait_for_hls(context: &Arc<NodeContext>, name: &str) {
    if context.hls.get(name).is_some() || context.cluster.get().is_none() {
        return;
    }
    let deadline = Instant::now() + WAIT_FOR_RELAY;
    if find_live(context, name).await.is_none() {
        return;
    }
    while context.hls.get(name).is_none() && Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
    }
}
