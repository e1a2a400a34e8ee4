//! LL-HLS packaging of every live content.
//!
//! [`run`] gives each content of the registry one packaging task: an
//! internal reader of the fan-out that feeds an [`avrs_media::hls::Packager`]
//! and publishes what it made as an immutable [`Snapshot`] on a
//! `tokio::sync::watch` channel. HTTP requests read the newest snapshot and,
//! for blocking playlist reloads and preload-hinted parts, wait on the same
//! channel; they never touch the packager, so a thousand waiting viewers
//! cost the packager nothing and the playlist text of a snapshot is written
//! once however many viewers ask for it.
//!
//! Memory per stream is bounded by the packager's window (see
//! [`HlsSettings`]); a snapshot only shares the window's bytes.

mod feed;
mod settings;
mod snapshot;
mod streams;
mod task;
mod wait;

pub use settings::HlsSettings;
pub use snapshot::Snapshot;
pub use streams::{HlsStream, HlsStreams};
pub use wait::{PlaylistReply, ResourceReply};

use crate::context::NodeContext;
use avrs_core::live::{LiveContent, Protocol};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Packages each live content (those already live and each one announced)
/// until `shutdown`, then drops every stream.
pub async fn run(context: Arc<NodeContext>, shutdown: CancellationToken) {
    // Subscribe before listing, so a content published in between is seen
    // (twice at worst, and `start` ignores the second).
    let mut announcements = context.registry.announcements();
    let mut tasks = JoinSet::new();
    for content in context.registry.list() {
        start(&context, content, &mut tasks, &shutdown);
    }
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            announced = announcements.recv() => match announced {
                Ok(content) => start(&context, content, &mut tasks, &shutdown),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "HLS missed content announcements; rescanning");
                    for content in context.registry.list() {
                        start(&context, content, &mut tasks, &shutdown);
                    }
                }
                // The registry lives as long as the context: never closed.
                Err(RecvError::Closed) => {
                    shutdown.cancelled().await;
                    break;
                }
            },
            Some(joined) = tasks.join_next() => {
                // A panicked task dropped its snapshot sender: its requests
                // answer 404 and the next publisher of the name replaces it.
                if let Err(err) = joined && err.is_panic() {
                    tracing::error!(%err, "an HLS packaging task panicked");
                }
            }
        }
    }
    // Every task watches the same token and ends at once.
    while tasks.join_next().await.is_some() {}
    context.hls.clear();
}

/// Starts packaging `content` unless it already is.
fn start(
    context: &Arc<NodeContext>,
    content: Arc<LiveContent>,
    tasks: &mut JoinSet<()>,
    shutdown: &CancellationToken,
) {
    let known = context
        .hls
        .get(content.name())
        .is_some_and(|s| Arc::ptr_eq(s.content(), &content));
    if known {
        return;
    }
    // Subscribed here, not in the task, so no frame published after the
    // announcement is missed. The packager is one reader however many HLS
    // viewers there are; it shows as one `hls` viewer (no internal
    // protocol exists in avrs-core yet).
    let subscriber = content.subscribe(Protocol::Internal);
    let (publish, snapshots) = watch::channel(None);
    let hold_limit = context.hls.settings().hold_limit();
    let stream = Arc::new(HlsStream::new(content, snapshots, hold_limit));
    context.hls.insert(stream.clone());
    tasks.spawn(task::package(
        context.clone(),
        stream,
        subscriber,
        publish,
        shutdown.clone(),
    ));
}
