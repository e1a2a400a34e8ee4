//! Origin egress copies against the number of edges: the cluster grows to
//! N edges, the new edges get their viewers all at once, and once every
//! edge plays, each node's relay route is read. The origin's children are
//! the copies it sends out; its native sessions (`/api/streams`) are the
//! cross-check (relay children are native sessions there, and no viewer
//! watches at the origin itself).

use super::api;
use super::report::EgressRow;
use super::setup::Cluster;
use anyhow::Result;
use avrs_node::cluster::content_key;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// How long every edge may take to play.
const ATTACH_LIMIT: Duration = Duration::from_secs(30);
/// Between two looks at the origin's children while edges attach.
const POLL: Duration = Duration::from_millis(100);

/// Grows `cluster` to `edges` edges and measures it.
pub async fn measure(cluster: &mut Cluster, edges: usize, per_edge: usize) -> Result<EgressRow> {
    let new = cluster.grow(edges).await?;
    let started = Instant::now();
    for &index in &new {
        cluster.watch_edge(index, per_edge)?;
    }
    let content = content_key(&cluster.settings.name).to_string();
    let origin = cluster.servers[0].http;
    // The most copies the origin sent at any look while edges attached: a
    // cap overrun that does not last shows here.
    let mut peak = 0;
    loop {
        if let Ok(Some(route)) = api::route(origin, &content).await {
            peak = peak.max(route.children.len());
        }
        if cluster.edges_playing() == edges || started.elapsed() > ATTACH_LIMIT {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    cluster.check_publisher()?;
    let attach = new
        .iter()
        .map(|&i| {
            cluster.viewers[i]
                .as_ref()
                .and_then(|v| v.last_first_frame())
        })
        .try_fold(started, |last, first| first.map(|f| last.max(f)));
    let mut row = tree(cluster, &content).await?;
    row.edges = edges;
    row.new_edges = new.len();
    row.edges_playing = cluster.edges_playing();
    row.attach_ms = attach.map(|at| ms(at - started));
    row.origin_egress_peak = peak.max(row.origin_egress_copies);
    Ok(row)
}

/// The relay tree as the nodes report it now.
async fn tree(cluster: &Cluster, content: &str) -> Result<EgressRow> {
    let origin = &cluster.servers[0];
    let at_origin = api::route(origin.http, content).await?.unwrap_or_default();
    let sessions = api::stream(origin.http, &cluster.settings.name).await?;
    let mut by_depth: BTreeMap<u8, usize> = BTreeMap::new();
    let mut detached = 0;
    for edge in &cluster.servers[1..] {
        match api::route(edge.http, content).await? {
            Some(api::Route {
                upstream,
                depth: Some(depth),
                ..
            }) if upstream == "relay" => *by_depth.entry(depth).or_default() += 1,
            _ => detached += 1,
        }
    }
    Ok(EgressRow {
        origin_egress_copies: at_origin.children.len(),
        origin_native_sessions: sessions.map(|(_, viewers)| viewers),
        max_depth: by_depth.keys().next_back().copied(),
        edges_by_depth: by_depth,
        edges_not_relaying: detached,
        ..EgressRow::default()
    })
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
