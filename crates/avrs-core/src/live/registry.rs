//! The names of a node's live contents, who publishes them, and the hooks
//! every inbound frame passes.

use super::content::{ContentLimits, LiveContent};
use super::frame::{TrackConfigs, Upstream};
use super::hooks::{ContentHook, FrameVerdict};
use avrs_media::MediaFrame;
use avrs_proto::Guuid;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::broadcast;

/// Why a publish was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PublishError {
    #[error("stream '{0}' already has a publisher")]
    Busy(String),
    #[error("stream name '{0}' is not valid: {1}")]
    BadName(String, &'static str),
}

/// Why a frame was not appended.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PushError {
    #[error("frame rejected by a content hook: {0}")]
    Rejected(String),
    /// A local publisher took the name over from this (relay) publisher.
    #[error("a local publisher took the content over")]
    TakenOver,
}

/// All live contents of a node, by name.
pub struct ContentRegistry {
    contents: RwLock<HashMap<String, Arc<LiveContent>>>,
    hooks: RwLock<Vec<Arc<dyn ContentHook>>>,
    limits: ContentLimits,
    reconnect_timeout: Duration,
    /// Source of content ids: `net_id` names this node, `srv_id` counts.
    id_source: Box<dyn Fn() -> Guuid + Send + Sync>,
    /// Every new content is announced here (packagers, recorders, relays
    /// start from it).
    announcements: broadcast::Sender<Arc<LiveContent>>,
}

impl std::fmt::Debug for ContentRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentRegistry")
            .field("contents", &self.names())
            .field("limits", &self.limits)
            .field("reconnect_timeout", &self.reconnect_timeout)
            .finish_non_exhaustive()
    }
}

/// Longest stream name accepted.
pub const MAX_NAME_LEN: usize = 200;

impl ContentRegistry {
    /// `reconnect_timeout`: how long a content outlives its publisher, so a
    /// publisher that comes back in time continues it. `id_source` makes the
    /// GUUID of each new content.
    pub fn new(
        limits: ContentLimits,
        reconnect_timeout: Duration,
        id_source: impl Fn() -> Guuid + Send + Sync + 'static,
    ) -> Self {
        Self {
            contents: RwLock::new(HashMap::new()),
            hooks: RwLock::new(Vec::new()),
            limits,
            reconnect_timeout,
            id_source: Box::new(id_source),
            announcements: broadcast::channel(64).0,
        }
    }

    /// How long a content outlives its publisher (the node's
    /// `reconnect_timeout`, which native sessions are kept for too).
    pub fn reconnect_timeout(&self) -> Duration {
        self.reconnect_timeout
    }

    /// A receiver of every content created from now on. A receiver that
    /// falls more than 64 announcements behind is told it lagged; it can
    /// catch up with [`Self::list`].
    pub fn announcements(&self) -> broadcast::Receiver<Arc<LiveContent>> {
        self.announcements.subscribe()
    }

    /// Registers a hook that sees every inbound frame from now on.
    pub fn add_hook(&self, hook: Arc<dyn ContentHook>) {
        write(&self.hooks).push(hook);
    }

    /// The content called `name`, if it is live (or waiting for its
    /// publisher to come back).
    pub fn get(&self, name: &str) -> Option<Arc<LiveContent>> {
        read(&self.contents).get(name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = read(&self.contents).keys().cloned().collect();
        names.sort();
        names
    }

    pub fn list(&self) -> Vec<Arc<LiveContent>> {
        let mut all: Vec<_> = read(&self.contents).values().cloned().collect();
        all.sort_by(|a, b| a.name().cmp(b.name()));
        all
    }

    /// Starts publishing `name`: a new content, or the same one again when
    /// its publisher left less than `reconnect_timeout` ago, or when a
    /// relay is writing it (a publisher that moved here from another
    /// server takes over from the relay of its old origin).
    pub fn publish(self: &Arc<Self>, name: &str, now: Instant) -> Result<Publisher, PublishError> {
        self.start_publisher(name, now, false)
    }

    /// [`Self::publish`] for a relay pulling `name` from another node: it
    /// never takes over from a writer, and a local publisher may take over
    /// from it.
    pub fn publish_relayed(
        self: &Arc<Self>,
        name: &str,
        now: Instant,
    ) -> Result<Publisher, PublishError> {
        self.start_publisher(name, now, true)
    }

    fn start_publisher(
        self: &Arc<Self>,
        name: &str,
        now: Instant,
        relayed: bool,
    ) -> Result<Publisher, PublishError> {
        validate_name(name)?;
        let mut contents = write(&self.contents);
        let (content, generation) = match contents.get(name) {
            Some(existing) if existing.is_publishing() => {
                // A relay never takes over; a local publisher only from a relay.
                match (!relayed).then(|| existing.take_over(now)).flatten() {
                    Some(generation) => (existing.clone(), generation),
                    None => return Err(PublishError::Busy(name.to_owned())),
                }
            }
            Some(existing) if !existing.is_ended() => {
                let generation = existing.publisher_returned(now, relayed);
                (existing.clone(), generation)
            }
            _ => {
                let content = Arc::new(LiveContent::new(
                    name.to_owned(),
                    (self.id_source)(),
                    self.limits,
                    now,
                ));
                contents.insert(name.to_owned(), content.clone());
                if relayed {
                    content.set_relayed();
                }
                // No receiver is not an error: nobody needs to know.
                let _ = self.announcements.send(content.clone());
                (content, 0)
            }
        };
        Ok(Publisher {
            registry: self.clone(),
            content,
            generation,
        })
    }

    /// Ends and forgets contents whose publisher has been gone longer than
    /// the reconnect timeout. Returns their names.
    pub fn reap(&self, now: Instant) -> Vec<String> {
        let mut contents = write(&self.contents);
        let expired: Vec<String> = contents
            .iter()
            .filter(|(_, content)| {
                content.lock().orphaned_since.is_some_and(|since| {
                    now.saturating_duration_since(since) >= self.reconnect_timeout
                })
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in &expired {
            if let Some(content) = contents.remove(name) {
                content.end();
            }
        }
        expired
    }

    fn run_hooks(&self, content: &LiveContent, frame: &MediaFrame) -> FrameVerdict {
        for hook in read(&self.hooks).iter() {
            if let verdict @ FrameVerdict::Reject(_) = hook.on_frame(content, frame) {
                return verdict;
            }
        }
        FrameVerdict::Accept
    }
}

/// The right to write one content. Dropping it starts the reconnect window.
#[derive(Debug)]
pub struct Publisher {
    registry: Arc<ContentRegistry>,
    content: Arc<LiveContent>,
    /// Which writer of the content this is (see `Window::publisher_gen`).
    generation: u64,
}

impl Publisher {
    pub fn content(&self) -> &Arc<LiveContent> {
        &self.content
    }

    /// Sets the codec configurations that the next frames decode with.
    pub fn set_configs(&self, configs: TrackConfigs) {
        self.content.set_configs(configs, self.generation);
    }

    /// Passes the frame through the hooks, then appends it for every viewer.
    pub fn push(&self, frame: MediaFrame, now: Instant) -> Result<(), PushError> {
        self.push_frame(frame, None, now)
    }

    /// [`Self::push`] of a frame relayed from another node, with what its
    /// origin signed (checked by the relay before it calls this).
    pub fn push_relayed(
        &self,
        frame: MediaFrame,
        upstream: Upstream,
        now: Instant,
    ) -> Result<(), PushError> {
        self.push_frame(frame, Some(upstream), now)
    }

    fn push_frame(
        &self,
        frame: MediaFrame,
        upstream: Option<Upstream>,
        now: Instant,
    ) -> Result<(), PushError> {
        let stats = &self.content.stats;
        if let FrameVerdict::Reject(why) = self.registry.run_hooks(&self.content, &frame) {
            stats.frames_rejected.fetch_add(1, Ordering::Relaxed);
            return Err(PushError::Rejected(why));
        }
        stats.frames_in.fetch_add(1, Ordering::Relaxed);
        stats
            .bytes_in
            .fetch_add(frame.data.len() as u64, Ordering::Relaxed);
        match self.content.append(frame, upstream, now, self.generation) {
            true => Ok(()),
            false => Err(PushError::TakenOver),
        }
    }

    /// The publisher is gone for good (not a drop-out): end the content
    /// now, unless another publisher took it over.
    pub fn finish(self) {
        // Under the registry's lock, as a take-over is.
        let mut contents = write(&self.registry.contents);
        if self.content.is_publisher(self.generation) {
            contents.remove(self.content.name());
            drop(contents);
            self.content.end();
        }
        // Drop then records the departure on an already-ended content.
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.content.publisher_left(Instant::now(), self.generation);
    }
}

fn validate_name(name: &str) -> Result<(), PublishError> {
    let bad = |why| Err(PublishError::BadName(name.to_owned(), why));
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("longer than 200 bytes");
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_./".contains(c);
    if !name.chars().all(allowed) {
        return bad("only letters, digits, '-', '_', '.' and '/' are allowed");
    }
    if name.starts_with('/')
        || name.ends_with('/')
        || name
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return bad("empty, '.' or '..' path parts are not allowed");
    }
    Ok(())
}

// Lock helpers: a poisoned lock still holds consistent data here (every
// change is a single insert, remove or push), so carry on with it.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}
