//! One group stream written by its own task, for live and VoD slots alike:
//! the slot's task hands frames over and never waits on the network.

use super::sessions::SessionStats;
use super::signing::ContentSigner;
use avrs_core::live::TrackConfigs;
use avrs_proto::avrs::quic::{ContentOrigin, RESET_CANCELLED};
use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How a session names a content, and who signs its frames.
#[derive(Debug, Clone)]
pub struct Slot {
    pub content_id: u32,
    pub signer: Arc<ContentSigner>,
    /// The session's figures (frames and bytes sent).
    pub stats: Arc<SessionStats>,
}

/// A frame a group stream can carry.
pub trait GroupFrame: Send + Sync + 'static {
    /// Position (the message's `seq_id`).
    fn seq(&self) -> u64;
    fn configs(&self) -> &Arc<TrackConfigs>;
    fn payload_len(&self) -> usize;
    /// The frame message for `slot`, signed: one or two chunks.
    fn message(&self, slot: &Slot) -> (Bytes, Option<Bytes>);
    /// Who signed it, for the CONTENT_UPDATE before it: the slot's signer,
    /// or the origin of a relayed frame.
    fn origin(&self, slot: &Slot) -> Arc<ContentOrigin> {
        slot.signer.shared_origin().clone()
    }
}

/// One group stream being written by its own task.
#[derive(Debug)]
pub struct GroupWriter<F> {
    /// Frames to write; dropped to finish the group.
    frames: Option<mpsc::UnboundedSender<F>>,
    /// Resets the stream with the code sent (or when dropped).
    reset: Option<oneshot::Sender<u32>>,
    /// Fires once this group's stream is open (or will never be); taken
    /// by the next group, which opens its stream only then.
    opened: Option<oneshot::Receiver<()>>,
    pub task: JoinHandle<()>,
}

impl<F: GroupFrame> GroupWriter<F> {
    /// Starts a group after `previous` (the group before it, if any).
    ///
    /// QUIC numbers streams in the order they are opened and the peer
    /// accepts them in that order; opening each group's stream only after
    /// the previous one's keeps stream order = group order, which the
    /// client's [`super::groups::Assembler`] relies on.
    pub fn spawn(
        conn: quinn::Connection,
        priority: i32,
        slot: Slot,
        previous: Option<&mut Self>,
    ) -> Self {
        // Unbounded, but never more than one group of shared frames.
        let (frames, frames_rx) = mpsc::unbounded_channel();
        let (reset, reset_rx) = oneshot::channel();
        let (opened, opened_rx) = oneshot::channel();
        let order = Order {
            after: previous.and_then(|p| p.opened.take()),
            opened,
        };
        let task = tokio::spawn(write_group(
            conn, priority, slot, order, frames_rx, reset_rx,
        ));
        Self {
            frames: Some(frames),
            reset: Some(reset),
            opened: Some(opened_rx),
            task,
        }
    }

    /// Queues a frame; returns its size for the byte counters.
    pub fn push(&mut self, frame: F) -> usize {
        let len = frame.payload_len();
        match &self.frames {
            Some(frames) if frames.send(frame).is_ok() => len,
            _ => 0,
        }
    }

    /// No more frames: the stream finishes once they are written.
    pub fn finish(&mut self) {
        self.frames = None;
    }

    /// Written and received (or failed): nothing left to drop.
    pub fn is_done(&self) -> bool {
        self.task.is_finished()
    }

    pub fn reset(mut self, code: u32) {
        if let Some(reset) = self.reset.take() {
            let _ = reset.send(code);
        }
    }
}

/// Live: newer groups first (QUIC sends higher-priority streams' data
/// first), so a congested viewer gets the newest picture.
pub fn priority(group_index: u64) -> i32 {
    i32::try_from(group_index).unwrap_or(i32::MAX - 1)
}

/// VoD: older groups first. A VoD slot sends up to a second ahead, so at a
/// start or seek several groups open at once; with newest-first the player
/// could receive a later group before the one holding the start position
/// and begin there.
pub fn vod_priority(group_index: u64) -> i32 {
    i32::try_from(group_index).map_or(i32::MIN + 1, |index| -index)
}

/// When a group may open its stream, and how it tells the next one.
struct Order {
    /// Fires (or is dropped) once the previous group's stream is open.
    after: Option<oneshot::Receiver<()>>,
    opened: oneshot::Sender<()>,
}

async fn write_group<F: GroupFrame>(
    conn: quinn::Connection,
    priority: i32,
    slot: Slot,
    order: Order,
    mut frames: mpsc::UnboundedReceiver<F>,
    mut reset: oneshot::Receiver<u32>,
) {
    let open = async {
        if let Some(after) = order.after {
            // Dropped unsent: the previous group gave up; go on anyway.
            let _ = after.await;
        }
        conn.open_uni().await
    };
    let opened = tokio::select! {
        _ = &mut reset => return,
        opened = open => opened,
    };
    let _ = order.opened.send(());
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
/// configuration or signer changed, then the frames; finishes the stream and waits
/// until the peer has received all of it.
async fn write_frames<F: GroupFrame>(
    send: &mut quinn::SendStream,
    slot: &Slot,
    frames: &mut mpsc::UnboundedReceiver<F>,
) -> anyhow::Result<()> {
    let mut configs: Option<Arc<TrackConfigs>> = None;
    let mut signer: Option<Arc<ContentOrigin>> = None;
    while let Some(frame) = frames.recv().await {
        let same_configs = configs
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, frame.configs()) || **c == **frame.configs());
        let origin = frame.origin(slot);
        let same_signer = signer
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(s, &origin) || **s == *origin);
        if !same_configs || !same_signer {
            let info = super::media::info_message(
                frame.seq(),
                slot.content_id,
                frame.configs(),
                Some((*origin).clone()),
            );
            send.write_chunk(info).await?;
            configs = Some(frame.configs().clone());
            signer = Some(origin);
        }
        let (first, second) = frame.message(slot);
        send.write_chunk(first).await?;
        if let Some(second) = second {
            send.write_chunk(second).await?;
        }
    }
    send.finish()?;
    send.stopped().await?;
    Ok(())
}
