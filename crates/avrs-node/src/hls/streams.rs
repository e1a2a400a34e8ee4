//! The per-stream state HTTP requests read, and the map of it.

use super::{HlsSettings, Snapshot};
use avrs_core::live::{LiveContent, Protocol};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The HLS state of every packaged content, by content name (`live/NAME`).
#[derive(Debug, Default)]
pub struct HlsStreams {
    settings: HlsSettings,
    streams: RwLock<HashMap<String, Arc<HlsStream>>>,
}

impl HlsStreams {
    pub fn new(settings: HlsSettings) -> Self {
        Self {
            settings,
            streams: RwLock::default(),
        }
    }

    pub fn settings(&self) -> &HlsSettings {
        &self.settings
    }

    /// The stream of content `name`, while it is packaged or lingering.
    pub fn get(&self, name: &str) -> Option<Arc<HlsStream>> {
        self.read().get(name).cloned()
    }

    /// Names of the streams, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.read().keys().cloned().collect();
        names.sort();
        names
    }

    /// Adds `stream`, replacing an ended one of the same name (a new
    /// publisher after the old content ended).
    pub(super) fn insert(&self, stream: Arc<HlsStream>) {
        self.write().insert(stream.name().to_owned(), stream);
    }

    /// Removes `stream` unless a newer stream has taken its name.
    pub(super) fn remove(&self, stream: &Arc<HlsStream>) {
        let mut streams = self.write();
        if streams
            .get(stream.name())
            .is_some_and(|s| Arc::ptr_eq(s, stream))
        {
            streams.remove(stream.name());
        }
    }

    pub(super) fn clear(&self) {
        self.write().clear();
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<HlsStream>>> {
        // Every mutation is a single map operation: a poisoned map is whole.
        self.streams.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<HlsStream>>> {
        self.streams.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// One packaged content, as HTTP requests see it. Holds no sender of the
/// snapshot channel: when the packaging task ends, waiting requests wake.
#[derive(Debug)]
pub struct HlsStream {
    content: Arc<LiveContent>,
    pub(super) snapshots: watch::Receiver<Option<Arc<Snapshot>>>,
    pub(super) hold_limit: Duration,
    /// Frames taken from the fan-out and handled (packaged or refused).
    pub(super) frames_read: AtomicU64,
    /// When each client address last fetched the playlist.
    recent_viewers: Mutex<HashMap<IpAddr, Instant>>,
}

/// An HLS viewer counts while it fetched the playlist this recently. LL-HLS
/// players reload every part (0.35 s); plain HLS ones every segment (2 s).
pub const VIEWER_WINDOW: Duration = Duration::from_secs(10);

/// Most client addresses remembered per stream, so a flood of addresses
/// cannot grow the map without bound.
const MAX_TRACKED_VIEWERS: usize = 100_000;

impl HlsStream {
    pub(super) fn new(
        content: Arc<LiveContent>,
        snapshots: watch::Receiver<Option<Arc<Snapshot>>>,
        hold_limit: Duration,
    ) -> Self {
        Self {
            content,
            snapshots,
            hold_limit,
            frames_read: AtomicU64::new(0),
            recent_viewers: Mutex::default(),
        }
    }

    /// Records a playlist fetch by `client` and updates the HLS viewer
    /// count: the distinct addresses seen within [`VIEWER_WINDOW`].
    pub fn saw_viewer(&self, client: IpAddr, now: Instant) {
        let mut recent = self
            .recent_viewers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if recent.len() < MAX_TRACKED_VIEWERS || recent.contains_key(&client) {
            recent.insert(client, now);
        }
        self.publish_viewer_count(&mut recent, now);
    }

    /// Forgets viewers that stopped fetching (called as the stream moves).
    pub fn refresh_viewers(&self, now: Instant) {
        let mut recent = self
            .recent_viewers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        self.publish_viewer_count(&mut recent, now);
    }

    fn publish_viewer_count(&self, recent: &mut HashMap<IpAddr, Instant>, now: Instant) {
        recent.retain(|_, seen| now.saturating_duration_since(*seen) < VIEWER_WINDOW);
        let count = u32::try_from(recent.len()).unwrap_or(u32::MAX);
        self.content.stats.set_viewers(Protocol::Hls, count);
    }

    /// The content name, `live/NAME`.
    pub fn name(&self) -> &str {
        self.content.name()
    }

    pub fn content(&self) -> &Arc<LiveContent> {
        &self.content
    }

    /// What has been published so far; `None` before the first part.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.snapshots.borrow().clone()
    }

    /// Frames the packager has handled; everything they made is already in
    /// [`snapshot`](Self::snapshot).
    pub fn frames_read(&self) -> u64 {
        self.frames_read.load(Ordering::Acquire)
    }

    /// Counts bytes sent to HLS viewers in the content's statistics.
    pub fn count_bytes_out(&self, bytes: usize) {
        self.content
            .stats
            .bytes_out
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }
}
