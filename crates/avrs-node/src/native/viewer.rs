//! Streaming one content to one native session: each group of pictures on
//! its own unidirectional stream, newest first, old groups dropped when the
//! viewer lags.
//!
//! The viewer task only moves `Arc`ed frames from the fan-out to per-group
//! writer tasks, so it never waits on the network: it always sees the newest
//! frames, and decides from there which group streams to drop.

use super::groups::{GroupSplitter, OpenGroups};
use super::media::{frame_message, frame_prefix, info_message};
use super::signing::ContentSigner;
use avrs_core::live::{Encoding, LiveContent, LiveFrame, Protocol, TrackConfigs};
use avrs_proto::avrs::quic::{FIRST_CONTENT_ID, RESET_CANCELLED, RESET_GROUP_DROPPED};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
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
        ended: mpsc::UnboundedSender<u32>,
    ) -> Self {
        let cancel = CancellationToken::new();
        let slot = Slot {
            content_id,
            signer: Arc::new(signer),
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

/// How this session names the content, and who signs its frames.
#[derive(Debug, Clone)]
struct Slot {
    content_id: u32,
    signer: Arc<ContentSigner>,
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
    let mut open: OpenGroups<GroupWriter> = OpenGroups::default();
    let mut groups_started: u64 = 0;
    loop {
        let batch = tokio::select! {
            _ = cancel.cancelled() => break,
            _ = conn.closed() => break,
            batch = subscriber.read(BATCH) => batch,
        };
        let mut after_gap = batch.skipped > 0;
        let mut bytes = 0;
        for frame in batch.frames {
            let media = &frame.media;
            let has_video = frame.configs.video.is_some();
            if splitter.starts_group(media.track, media.keyframe, media.dts, has_video, after_gap) {
                if let Some(current) = open.current() {
                    current.finish();
                }
                let group =
                    GroupWriter::spawn(conn.clone(), priority(groups_started), slot.clone());
                groups_started += 1;
                for lagging in open.start(group, GroupWriter::is_done) {
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

/// Newer groups first: QUIC sends higher-priority streams' data first.
fn priority(group_index: u64) -> i32 {
    i32::try_from(group_index).unwrap_or(i32::MAX - 1)
}

/// Lets every open group finish, waiting until its data is received.
async fn finish_all(open: &mut OpenGroups<GroupWriter>, cancel: &CancellationToken) {
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

/// One group stream being written by its own task.
#[derive(Debug)]
struct GroupWriter {
    /// Frames to write; dropped to finish the group.
    frames: Option<mpsc::UnboundedSender<Arc<LiveFrame>>>,
    /// Resets the stream with the code sent (or when dropped).
    reset: Option<oneshot::Sender<u32>>,
    task: JoinHandle<()>,
}

impl GroupWriter {
    fn spawn(conn: quinn::Connection, priority: i32, slot: Slot) -> Self {
        // Unbounded, but never more than one group of shared frames.
        let (frames, frames_rx) = mpsc::unbounded_channel();
        let (reset, reset_rx) = oneshot::channel();
        let task = tokio::spawn(write_group(conn, priority, slot, frames_rx, reset_rx));
        Self {
            frames: Some(frames),
            reset: Some(reset),
            task,
        }
    }

    /// Queues a frame; returns its size for the byte counters.
    fn push(&mut self, frame: Arc<LiveFrame>) -> usize {
        let len = frame.media.data.len();
        match &self.frames {
            Some(frames) if frames.send(frame).is_ok() => len,
            _ => 0,
        }
    }

    /// No more frames: the stream finishes once they are written.
    fn finish(&mut self) {
        self.frames = None;
    }

    /// Written and received (or failed): nothing left to drop.
    fn is_done(&self) -> bool {
        self.task.is_finished()
    }

    fn reset(mut self, code: u32) {
        if let Some(reset) = self.reset.take() {
            let _ = reset.send(code);
        }
    }
}

async fn write_group(
    conn: quinn::Connection,
    priority: i32,
    slot: Slot,
    mut frames: mpsc::UnboundedReceiver<Arc<LiveFrame>>,
    mut reset: oneshot::Receiver<u32>,
) {
    let opened = tokio::select! {
        _ = &mut reset => return,
        opened = conn.open_uni() => opened,
    };
    let Ok(mut send) = opened else {
        return;
    };
    let _ = send.set_priority(priority);
    let code = tokio::select! {
        code = &mut reset => Some(code.unwrap_or(RESET_CANCELLED)),
        _ = write_frames(&mut send, &slot, &mut frames) => None,
    };
    if let Some(code) = code {
        let _ = send.reset(code.into());
    }
}

/// Writes the group: a CONTENT_UPDATE first and before any frame whose
/// configuration changed, then the frames; finishes the stream and waits
/// until the peer has received all of it.
async fn write_frames(
    send: &mut quinn::SendStream,
    slot: &Slot,
    frames: &mut mpsc::UnboundedReceiver<Arc<LiveFrame>>,
) -> anyhow::Result<()> {
    let content_id = slot.content_id;
    let mut configs: Option<Arc<TrackConfigs>> = None;
    while let Some(frame) = frames.recv().await {
        let same = configs
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &frame.configs) || **c == *frame.configs);
        if !same {
            let origin = Some(slot.signer.origin());
            send.write_chunk(info_message(frame.seq, content_id, &frame.configs, origin))
                .await?;
            configs = Some(frame.configs.clone());
        }
        let signature = slot.signer.signature(&frame);
        if content_id == FIRST_CONTENT_ID {
            let message = frame.encoded(Encoding::Native, |f| {
                frame_message(f, FIRST_CONTENT_ID, &signature)
            });
            send.write_chunk(message).await?;
        } else {
            send.write_chunk(frame_prefix(&frame, content_id, &signature))
                .await?;
            send.write_chunk(frame.media.data.clone()).await?;
        }
    }
    send.finish()?;
    send.stopped().await?;
    Ok(())
}
