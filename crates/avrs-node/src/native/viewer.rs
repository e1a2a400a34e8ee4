//! Streaming one content to one native session: each group of pictures on
//! its own unidirectional stream, newest first, old groups dropped when the
//! viewer lags.
//!
//! The viewer task only moves `Arc`ed frames from the fan-out to per-group
//! writer tasks, so it never waits on the network: it always sees the newest
//! frames, and decides from there which group streams to drop.

use super::group_writer::{GroupFrame, GroupWriter, Slot, priority};
use super::groups::{GroupSplitter, OpenGroups};
use super::media::{Wire, frame_message, frame_prefix};
use super::sessions::SessionStats;
use super::signing::ContentSigner;
use avrs_core::live::{Encoding, LiveContent, LiveFrame, Protocol, TrackConfigs};
use avrs_proto::avrs::quic::{
    ContentOrigin, FIRST_CONTENT_ID, RESET_CANCELLED, RESET_GROUP_DROPPED,
};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Most frames taken from the fan-out per wake-up.
const BATCH: usize = 256;

/// After the content ends, how long its last groups may take to arrive.
const END_WAIT: Duration = Duration::from_secs(10);

/// A content being streamed to a session.
#[derive(Debug)]
pub struct Viewer {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Viewer {
    /// Starts streaming `content` as `content_id`; `ended` receives the id
    /// once the content is over and every group has been delivered.
    pub fn spawn(
        conn: quinn::Connection,
        content: Arc<LiveContent>,
        content_id: u32,
        signer: ContentSigner,
        stats: Arc<SessionStats>,
        ended: mpsc::UnboundedSender<u32>,
    ) -> Self {
        let cancel = CancellationToken::new();
        let slot = Slot {
            content_id,
            signer: Arc::new(signer),
            stats,
        };
        let task = tokio::spawn(run(conn, content, slot, ended, cancel.clone()));
        Self { cancel, task }
    }

    /// Stops streaming; open group streams are reset.
    pub fn stop(self) {
        self.cancel.cancel();
        drop(self.task);
    }
}

/// Live frames: the message for the first content id is made once and
/// shared by every viewer (nearly all stream under that id).
impl GroupFrame for Arc<LiveFrame> {
    /// The position viewers see: a relayed frame keeps its origin's.
    fn seq(&self) -> u64 {
        self.upstream.as_ref().map_or(self.seq, |u| u.seq)
    }

    fn configs(&self) -> &Arc<TrackConfigs> {
        &self.configs
    }

    fn payload_len(&self) -> usize {
        self.media.data.len()
    }

    fn message(&self, slot: &Slot) -> (Bytes, Option<Bytes>) {
        // A relayed frame goes on as its origin signed it; this node signs
        // (and seals) only what it ingested.
        let (payload, signature, sealed) = match &self.upstream {
            Some(upstream) => (
                self.media.data.clone(),
                upstream.signature.clone(),
                upstream.sealed,
            ),
            None => (
                slot.signer.payload(self),
                slot.signer.signature(self),
                slot.signer.seals(),
            ),
        };
        let wire = Wire {
            payload: &payload,
            signature: &signature,
            sealed,
        };
        if slot.content_id == FIRST_CONTENT_ID {
            let message = self.encoded(Encoding::Native, |f| {
                frame_message(f, FIRST_CONTENT_ID, wire)
            });
            (message, None)
        } else {
            let prefix = frame_prefix(self, slot.content_id, wire);
            (prefix, Some(payload))
        }
    }

    fn origin(&self, slot: &Slot) -> Arc<ContentOrigin> {
        match &self.upstream {
            Some(upstream) => upstream.origin.clone(),
            None => slot.signer.shared_origin().clone(),
        }
    }
}

async fn run(
    conn: quinn::Connection,
    content: Arc<LiveContent>,
    slot: Slot,
    ended: mpsc::UnboundedSender<u32>,
    cancel: CancellationToken,
) {
    let mut subscriber = content.subscribe(Protocol::Native);
    let mut splitter = GroupSplitter::default();
    let mut open: OpenGroups<GroupWriter<Arc<LiveFrame>>> = OpenGroups::default();
    let mut groups_started: u64 = 0;
    loop {
        let batch = tokio::select! {
            _ = cancel.cancelled() => break,
            _ = conn.closed() => break,
            batch = subscriber.read(BATCH) => batch,
        };
        let mut after_gap = batch.skipped > 0;
        let mut bytes = 0;
        let frames = batch.frames.len() as u64;
        for frame in batch.frames {
            let media = &frame.media;
            let has_video = frame.configs.video.is_some();
            if splitter.starts_group(media.track, media.keyframe, media.dts, has_video, after_gap) {
                let mut previous = open.current();
                if let Some(previous) = previous.as_mut() {
                    previous.finish();
                }
                let group = GroupWriter::spawn(
                    conn.clone(),
                    priority(groups_started),
                    slot.clone(),
                    previous,
                );
                groups_started += 1;
                for lagging in open.start(group, GroupWriter::<Arc<LiveFrame>>::is_done) {
                    tracing::debug!(
                        remote = %conn.remote_address(),
                        stream = content.name(),
                        "native viewer lags: group dropped"
                    );
                    lagging.reset(RESET_GROUP_DROPPED);
                }
            }
            after_gap = false;
            if let Some(current) = open.current() {
                bytes += current.push(frame);
            }
        }
        subscriber.count_bytes_out(bytes);
        slot.stats.sent(frames, bytes as u64);
        if batch.ended {
            finish_all(&mut open, &cancel).await;
            let _ = ended.send(slot.content_id);
            return;
        }
    }
    for group in open.take_all() {
        group.reset(RESET_CANCELLED);
    }
}

/// Lets every open group finish, waiting until its data is received.
pub(super) async fn finish_all<F: GroupFrame>(
    open: &mut OpenGroups<GroupWriter<F>>,
    cancel: &CancellationToken,
) {
    let wait = async {
        for group in open.iter_mut() {
            group.finish();
            let _ = (&mut group.task).await;
        }
    };
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = tokio::time::timeout(END_WAIT, wait) => {}
    }
    for group in open.take_all() {
        group.reset(RESET_CANCELLED);
    }
}
