//! The packaging task of one content: read the fan-out, feed the packager,
//! publish snapshots; after the content ends, linger, then go.

use super::feed::Feeder;
use super::{HlsStream, Snapshot};
use crate::context::NodeContext;
use avrs_core::live::Subscriber;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Most frames taken from the fan-out per wake-up. Usually one or two are
/// waiting; the cap bounds the time between publications after a stall.
const BATCH: usize = 64;

pub(super) async fn package(
    context: Arc<NodeContext>,
    stream: Arc<HlsStream>,
    mut subscriber: Subscriber,
    publish: watch::Sender<Option<Arc<Snapshot>>>,
    shutdown: CancellationToken,
) {
    let settings = context.hls.settings();
    let mut feeder = Feeder::new(stream.name(), settings.packager.clone());
    loop {
        let batch = tokio::select! {
            _ = shutdown.cancelled() => return,
            batch = subscriber.read(BATCH) => batch,
        };
        // Frames before the first keyframe are skipped when a reader joins;
        // later skips mean the packager lagged a whole group behind.
        if batch.skipped > 0 && stream.frames_read() > 0 {
            tracing::warn!(stream = %stream.name(), skipped = batch.skipped,
                "HLS packager fell behind; frames skipped, discontinuity");
            feeder.gap();
        }
        let mut published = false;
        for frame in &batch.frames {
            published |= feeder.push(frame);
        }
        if batch.ended {
            published |= feeder.finish();
        }
        if published && let Some(timeline) = feeder.timeline() {
            publish.send_replace(Some(Arc::new(Snapshot::new(timeline.clone()))));
            stream.refresh_viewers(std::time::Instant::now());
        }
        // Counted after publishing: whoever sees the count sees the result.
        stream
            .frames_read
            .fetch_add(batch.frames.len() as u64, Ordering::Release);
        if batch.ended {
            break;
        }
    }
    // The packager is no reader any more; the playlist is final.
    drop(subscriber);
    if feeder.refused() > 0 {
        tracing::info!(stream = %stream.name(), refused = feeder.refused(),
            "HLS stream ended; the packager dropped frames it could not use");
    }
    if feeder.timeline().is_some() {
        tracing::debug!(stream = %stream.name(), "HLS stream ended; lingering");
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(settings.linger) => {}
        }
    }
    context.hls.remove(&stream);
    // Dropping `publish` wakes any request still waiting on this stream.
}
