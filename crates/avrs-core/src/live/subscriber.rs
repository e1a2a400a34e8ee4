//! A reader of one live content: a cursor into the shared window.

use super::content::{LiveContent, Protocol, Window};
use super::frame::LiveFrame;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::Notify;

/// What one read returns.
#[derive(Debug, Default)]
pub struct ReadBatch {
    /// Frames in order, from the cursor on.
    pub frames: Vec<Arc<LiveFrame>>,
    /// Frames passed over before these because the reader lagged (or joined
    /// before the first keyframe and waited for one).
    pub skipped: u64,
    /// The content has ended and every frame has been read.
    pub ended: bool,
}

/// A cursor into a [`LiveContent`]. Reading never blocks the publisher or
/// other readers: a reader that falls more than a group behind, or out of the
/// window, skips to the newest keyframe.
#[derive(Debug)]
pub struct Subscriber {
    content: Arc<LiveContent>,
    protocol: Protocol,
    cursor: Cursor,
    /// The content's next `seq` when this reader last looked: waiting means
    /// waiting for the head to pass it.
    observed: u64,
}

impl Subscriber {
    pub(crate) fn new(content: Arc<LiveContent>, protocol: Protocol) -> Self {
        content.stats.viewer_joined(protocol);
        let cursor = {
            let window = content.lock();
            match window.newest_group_start() {
                Some(start) => Cursor::At(start),
                None => Cursor::WaitKeyframe {
                    from: window.next_seq(),
                },
            }
        };
        Self {
            content,
            protocol,
            cursor,
            observed: 0,
        }
    }

    pub fn content(&self) -> &Arc<LiveContent> {
        &self.content
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Takes up to `max` frames that are ready now, without waiting.
    pub fn try_read(&mut self, max: usize) -> ReadBatch {
        let mut batch = ReadBatch::default();
        self.try_read_into(max, &mut batch);
        batch
    }

    /// [`Self::try_read`] into a batch the caller keeps between reads, so a
    /// viewer's hot loop allocates nothing: `batch` is cleared first, and its
    /// `frames` keep their capacity.
    pub fn try_read_into(&mut self, max: usize, batch: &mut ReadBatch) {
        batch.frames.clear();
        batch.skipped = 0;
        batch.ended = false;
        let window = self.content.lock();
        self.observed = window.next_seq();
        let Some(start) = place_cursor(&mut self.cursor, &window, batch) else {
            batch.ended = window.ended;
            drop(window);
            self.count_skipped(batch.skipped);
            return;
        };
        let from = (start - window.base_seq) as usize;
        let to = window.frames.len().min(from.saturating_add(max));
        batch.frames.extend(window.frames.range(from..to).cloned());
        let next = start + (to - from) as u64;
        self.cursor = Cursor::At(next);
        batch.ended = window.ended && next == window.next_seq();
        drop(window);
        self.count_skipped(batch.skipped);
    }

    fn count_skipped(&self, skipped: u64) {
        if skipped > 0 {
            self.content
                .stats
                .frames_dropped
                .fetch_add(skipped, Ordering::Relaxed);
        }
    }

    /// Waits until the content has frames this reader has not looked at yet
    /// (or ends). Returns at once when some are already there.
    pub async fn wait(&mut self) {
        let (content, observed) = (&self.content, self.observed);
        wait_for(content.changed(), || content.has_news(observed)).await;
    }

    /// Waits until a group starts that this reader has not looked at yet (or
    /// the content ends). A driver that merges frames into fewer writes
    /// waits on this together with its merge timer: a reader that slept
    /// through two group starts would count as a whole group behind and
    /// skip one (see `lagging`).
    pub async fn wait_group_start(&self) {
        let (content, observed) = (&self.content, self.observed);
        wait_for(content.group_started(), || {
            content.has_group_start(observed)
        })
        .await;
    }

    /// Waits for frames, then reads up to `max` of them.
    pub async fn read(&mut self, max: usize) -> ReadBatch {
        loop {
            let batch = self.try_read(max);
            if !batch.frames.is_empty() || batch.ended {
                return batch;
            }
            self.wait().await;
        }
    }

    /// Jumps to the newest keyframe now (a driver whose socket cannot keep
    /// up calls this). Returns the frames skipped.
    pub fn skip_to_latest(&mut self) -> u64 {
        let window = self.content.lock();
        let Some(newest) = window.newest_group_start() else {
            return 0;
        };
        let at = match self.cursor {
            Cursor::At(at) | Cursor::WaitKeyframe { from: at } => at,
        };
        let skipped = newest.saturating_sub(at);
        self.cursor = Cursor::At(newest.max(at));
        drop(window);
        self.content
            .stats
            .frames_dropped
            .fetch_add(skipped, Ordering::Relaxed);
        skipped
    }

    /// Adds to the content's outbound byte count.
    pub fn count_bytes_out(&self, bytes: usize) {
        self.content
            .stats
            .bytes_out
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.content.stats.viewer_left(self.protocol);
    }
}

/// Returns once `ready()` holds, waking on `notify` to look again.
async fn wait_for(notify: &Notify, ready: impl Fn() -> bool) {
    loop {
        // Register before looking, so a change between the look and the
        // sleep still wakes us (`notify_waiters` only wakes registered
        // waiters).
        let mut notified = std::pin::pin!(notify.notified());
        notified.as_mut().enable();
        if ready() {
            return;
        }
        notified.await;
    }
}

/// Where a reader stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    /// The next `seq` to read.
    At(u64),
    /// Joined (or fell out of the window) where no keyframe was left: reads
    /// start at the first group that starts at `from` or later.
    WaitKeyframe { from: u64 },
}

/// Where to read from now, moving the cursor when it has fallen out of the
/// window or more than one group behind. `None`: nothing decodable yet.
fn place_cursor(cursor: &mut Cursor, window: &Window, batch: &mut ReadBatch) -> Option<u64> {
    let at = match *cursor {
        Cursor::At(at) => at,
        Cursor::WaitKeyframe { from } => {
            let start = window.group_starts.iter().copied().find(|&s| s >= from)?;
            batch.skipped = start - from;
            start
        }
    };
    let start = if !lagging(window, at) {
        at
    } else if let Some(newest) = window.newest_group_start() {
        batch.skipped += newest.saturating_sub(at);
        newest
    } else {
        // Out of the window with no keyframe to restart from: wait for one.
        *cursor = Cursor::WaitKeyframe { from: at };
        return None;
    };
    *cursor = Cursor::At(start);
    Some(start)
}

/// Behind the window, or a whole group behind the newest one.
fn lagging(window: &Window, cursor: u64) -> bool {
    if cursor < window.base_seq {
        return true;
    }
    let groups = window.group_starts.len();
    groups >= 2 && cursor < window.group_starts[groups - 2]
}
