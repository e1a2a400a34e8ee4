//! The viewers that make every edge pull the stream: M native viewers per
//! edge, straight at that edge (not through the balancer: an edge without
//! the content must relay it from the tree, which is what the egress
//! figure measures). A viewer whose connection ends connects again, so the
//! edge stays watched (a relay nobody watches stops).

use super::super::native::new_endpoint;
use anyhow::Result;
use avrs_media::TrackKind;
use avrs_node::native::client::{ClientOptions, Endpoint, Session};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Nothing for this long: the viewer connects again (as `avrs play`
/// without a balancer takes a silent server as lost).
const SILENCE: Duration = Duration::from_secs(3);
/// Between two connection attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// What one viewer has seen.
#[derive(Debug, Default)]
struct Seen {
    first_frame: OnceLock<Instant>,
}

/// The viewers of one edge; they stop when this drops.
#[derive(Debug)]
pub struct EdgeViewers {
    seen: Vec<Arc<Seen>>,
    /// When they were started.
    pub started: Instant,
    tasks: JoinSet<()>,
}

impl EdgeViewers {
    /// `count` viewers of `name` at the edge's QUIC `address`, sharing one
    /// UDP socket.
    pub fn start(address: SocketAddr, name: &str, count: usize) -> Result<Self> {
        let endpoint = new_endpoint(address)?;
        let mut tasks = JoinSet::new();
        let seen: Vec<Arc<Seen>> = (0..count).map(|_| Arc::default()).collect();
        for one in &seen {
            let (endpoint, name, one) = (endpoint.clone(), name.to_owned(), one.clone());
            tasks.spawn(async move {
                loop {
                    let _ = watch(&endpoint, address, &name, &one).await;
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            });
        }
        Ok(Self {
            seen,
            started: Instant::now(),
            tasks,
        })
    }

    /// Whether every viewer has had a video frame.
    pub fn all_playing(&self) -> bool {
        self.seen.iter().all(|s| s.first_frame.get().is_some())
    }

    /// When the last of them got its first video frame (`None` while one
    /// has not).
    pub fn last_first_frame(&self) -> Option<Instant> {
        self.seen
            .iter()
            .map(|s| s.first_frame.get().copied())
            .try_fold(self.started, |last, first| first.map(|f| last.max(f)))
    }
}

impl Drop for EdgeViewers {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// One session: frames until the connection ends or goes silent.
async fn watch(endpoint: &Endpoint, address: SocketAddr, name: &str, seen: &Seen) -> Result<()> {
    // One machine stands in for many players: no signature checks (as
    // `avrs bench` by default), so the nodes, not this tool, use the CPU.
    let options = ClientOptions {
        verify_signatures: false,
        ..ClientOptions::default()
    };
    let mut watch = Session::connect_on(endpoint, address, options)
        .await?
        .watch(name)
        .await?;
    loop {
        let Some(frame) = tokio::time::timeout(SILENCE, watch.next_frame()).await?? else {
            return Ok(());
        };
        if frame.media.track == TrackKind::Video && !frame.media.data.is_empty() {
            seen.first_frame.get_or_init(Instant::now);
        }
    }
}
