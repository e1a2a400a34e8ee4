//! One live content: a bounded window of frames, grouped at keyframes, that a
//! single publisher appends to and any number of subscribers read.

use super::frame::{LiveFrame, TrackConfigs, Upstream};
use super::subscriber::Subscriber;
use avrs_media::{MediaFrame, TIMESCALE, TrackKind};
use avrs_proto::Guuid;
use avrs_proto::avrs::quic::ContentOrigin;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::Notify;

/// Memory bounds of one content's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentLimits {
    /// Groups of pictures kept for new and lagging viewers.
    pub max_groups: usize,
    /// Payload bytes kept, whatever the group count.
    pub max_bytes: usize,
    /// A group of an audio-only content closes after this many 90 kHz ticks.
    pub audio_group_ticks: i64,
}

impl Default for ContentLimits {
    fn default() -> Self {
        Self {
            max_groups: 3,
            max_bytes: 24 * 1024 * 1024,
            audio_group_ticks: TIMESCALE as i64,
        }
    }
}

/// Who reads a content: viewers by protocol, counted separately in
/// statistics, and the node's own readers (packagers, recorders, relays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Native,
    HttpFlv,
    Rtmp,
    Hls,
    /// A reader inside the node, not a viewer: never in viewer counts.
    Internal,
}

impl Protocol {
    /// The viewer protocols (everything but [`Protocol::Internal`]).
    pub const ALL: [Protocol; 4] = [
        Protocol::Native,
        Protocol::HttpFlv,
        Protocol::Rtmp,
        Protocol::Hls,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Native => "native",
            Protocol::HttpFlv => "http_flv",
            Protocol::Rtmp => "rtmp",
            Protocol::Hls => "hls",
            Protocol::Internal => "internal",
        }
    }
}

/// Counters of one content, readable at any time without locking.
#[derive(Debug, Default)]
pub struct ContentStats {
    pub frames_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub frames_rejected: AtomicU64,
    /// Frames viewers skipped because they lagged.
    pub frames_dropped: AtomicU64,
    pub bytes_out: AtomicU64,
    pub publisher_reconnects: AtomicU64,
    /// Indexed by `Protocol as usize`; the last slot counts internal readers.
    viewers: [AtomicU32; 5],
}

impl ContentStats {
    pub fn viewers(&self, protocol: Protocol) -> u32 {
        self.viewers[protocol as usize].load(Ordering::Relaxed)
    }

    pub fn total_viewers(&self) -> u32 {
        Protocol::ALL.iter().map(|p| self.viewers(*p)).sum()
    }

    /// Sets the count of a protocol whose viewers are not connections
    /// (HLS viewers are recent requesters, counted by the HLS output).
    pub fn set_viewers(&self, protocol: Protocol, count: u32) {
        self.viewers[protocol as usize].store(count, Ordering::Relaxed);
    }

    pub(crate) fn viewer_joined(&self, protocol: Protocol) {
        self.viewers[protocol as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn viewer_left(&self, protocol: Protocol) {
        self.viewers[protocol as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

/// The window and everything the publisher side changes, under one lock.
#[derive(Debug)]
pub(crate) struct Window {
    pub(crate) frames: VecDeque<Arc<LiveFrame>>,
    /// `seq` of `frames[0]`, or of the next frame when empty.
    pub(crate) base_seq: u64,
    /// `seq`s of the group starts still in the window, oldest first.
    pub(crate) group_starts: VecDeque<u64>,
    bytes: usize,
    configs: Arc<TrackConfigs>,
    /// Added to publisher times so the content stays monotonic across
    /// publisher reconnects.
    ts_offset: i64,
    /// Latest rebased decode time, for the next reconnect's offset.
    last_dts: Option<i64>,
    last_group_dts: i64,
    pending_discontinuity: bool,
    pub(crate) ended: bool,
    pub(crate) publisher_since: Option<Instant>,
    pub(crate) orphaned_since: Option<Instant>,
    /// Which publisher may write: each new one (a return, a take-over)
    /// counts one up, and a stale [`Publisher`](super::Publisher) can no
    /// longer write, end or orphan the content.
    publisher_gen: u64,
    /// The publisher is a relay pulling from another node: a local
    /// publisher of the same name takes over from it.
    relayed: bool,
}

impl Window {
    pub(crate) fn next_seq(&self) -> u64 {
        self.base_seq + self.frames.len() as u64
    }

    pub(crate) fn newest_group_start(&self) -> Option<u64> {
        self.group_starts.back().copied()
    }
}

/// A live content: name, cluster-wide id, frame window and statistics.
#[derive(Debug)]
pub struct LiveContent {
    name: String,
    id: Guuid,
    started: Instant,
    limits: ContentLimits,
    window: Mutex<Window>,
    /// The next `seq` to be written, readable without the lock: a waiting
    /// reader checks it before sleeping.
    head: AtomicU64,
    /// Mirrors `Window::ended`, so waiting readers need not lock.
    ended: AtomicBool,
    /// Woken (all waiters at once) after every append and at the end.
    /// A bare `Notify` plus the atomics above is the cheapest wake-up for
    /// thousands of readers: a `watch` channel adds a lock around its value
    /// and a version per receiver, and its `wait_for` predicate locked the
    /// window on every wake.
    changed: Notify,
    /// One past the `seq` of the newest group start (0: none yet), readable
    /// without the lock.
    newest_group_end: AtomicU64,
    /// Woken when a group starts and at the end: a reader merging frames
    /// into one write stops waiting there (see
    /// [`Subscriber::wait_group_start`]).
    group_started: Notify,
    pub stats: ContentStats,
}

impl LiveContent {
    pub(crate) fn new(name: String, id: Guuid, limits: ContentLimits, now: Instant) -> Self {
        Self {
            name,
            id,
            started: now,
            limits,
            window: Mutex::new(Window {
                frames: VecDeque::new(),
                base_seq: 0,
                group_starts: VecDeque::new(),
                bytes: 0,
                configs: Arc::new(TrackConfigs::default()),
                ts_offset: 0,
                last_dts: None,
                last_group_dts: 0,
                pending_discontinuity: false,
                ended: false,
                publisher_since: Some(now),
                orphaned_since: None,
                publisher_gen: 0,
                relayed: false,
            }),
            head: AtomicU64::new(0),
            ended: AtomicBool::new(false),
            changed: Notify::new(),
            newest_group_end: AtomicU64::new(0),
            group_started: Notify::new(),
            stats: ContentStats::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> Guuid {
        self.id
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// The configurations new frames are decoded with.
    pub fn configs(&self) -> Arc<TrackConfigs> {
        self.lock().configs.clone()
    }

    /// True once the publisher is gone for good.
    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// True while a publisher is connected.
    pub fn is_publishing(&self) -> bool {
        self.lock().publisher_since.is_some()
    }

    /// A new reader, placed at the newest keyframe (or, before the first one,
    /// waiting for it).
    pub fn subscribe(self: &Arc<Self>, protocol: Protocol) -> Subscriber {
        Subscriber::new(self.clone(), protocol)
    }

    /// True when frames from `observed` on exist, or the content ended.
    pub(crate) fn has_news(&self, observed: u64) -> bool {
        self.head.load(Ordering::Acquire) > observed || self.ended.load(Ordering::Acquire)
    }

    /// The wake-up readers wait on; see [`Subscriber::wait`].
    pub(crate) fn changed(&self) -> &Notify {
        &self.changed
    }

    /// True when a group started at `observed` or later, or the content
    /// ended.
    pub(crate) fn has_group_start(&self, observed: u64) -> bool {
        self.newest_group_end.load(Ordering::Acquire) > observed
            || self.ended.load(Ordering::Acquire)
    }

    /// The wake-up of [`Subscriber::wait_group_start`].
    pub(crate) fn group_started(&self) -> &Notify {
        &self.group_started
    }

    /// Publishes a new head and wakes every waiting reader.
    fn announce(&self, next: u64) {
        self.head.store(next, Ordering::Release);
        self.changed.notify_waiters();
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Window> {
        // A panic elsewhere while holding the lock leaves a window that is
        // still consistent (every mutation is a single push/pop), so go on.
        self.window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn set_configs(&self, configs: TrackConfigs, generation: u64) {
        let mut window = self.lock();
        if window.publisher_gen == generation && *window.configs != configs {
            window.configs = Arc::new(configs);
        }
    }

    /// The origin of the newest frame, for a relayed content: what a
    /// native viewer is told signs its frames.
    pub fn upstream_origin(&self) -> Option<Arc<ContentOrigin>> {
        let window = self.lock();
        let newest = window.frames.back()?;
        newest.upstream.as_ref().map(|u| u.origin.clone())
    }

    /// A relayed ENCRYPTED content: its frames are sealed and this node
    /// cannot open them (outputs in clear must refuse it).
    pub fn is_sealed(&self) -> bool {
        let window = self.lock();
        window
            .frames
            .back()
            .and_then(|f| f.upstream.as_ref())
            .is_some_and(|u| u.sealed)
    }

    /// Appends one accepted frame of publisher `generation` and wakes the
    /// readers. False when that publisher has been taken over.
    pub(crate) fn append(
        &self,
        mut media: MediaFrame,
        upstream: Option<Upstream>,
        now: Instant,
        generation: u64,
    ) -> bool {
        let (next, starts_group) = {
            let mut window = self.lock();
            if window.publisher_gen != generation {
                return false;
            }
            self.rebase(&mut window, &mut media);
            let seq = window.next_seq();
            let starts_group = self.starts_group(&window, &media);
            if starts_group {
                window.group_starts.push_back(seq);
                window.last_group_dts = media.dts;
                self.newest_group_end.store(seq + 1, Ordering::Release);
            }
            let discontinuity = std::mem::take(&mut window.pending_discontinuity);
            window.bytes += media.data.len();
            window.last_dts = Some(window.last_dts.map_or(media.dts, |d| d.max(media.dts)));
            let mut frame = LiveFrame::new(seq, media, window.configs.clone(), discontinuity, now);
            frame.upstream = upstream;
            window.frames.push_back(Arc::new(frame));
            self.evict(&mut window);
            (window.next_seq(), starts_group)
        };
        self.announce(next);
        if starts_group {
            self.group_started.notify_waiters();
        }
        true
    }

    fn rebase(&self, window: &mut Window, media: &mut MediaFrame) {
        if window.pending_discontinuity {
            // First frame of a returning publisher: continue one frame
            // (about 1/30 s) after the last time viewers saw.
            if let Some(last) = window.last_dts {
                window.ts_offset = last + 3000 - media.dts;
            }
        }
        media.dts += window.ts_offset;
        media.pts += window.ts_offset;
    }

    fn starts_group(&self, window: &Window, media: &MediaFrame) -> bool {
        let has_video = window.configs.video.is_some();
        match media.track {
            TrackKind::Video => media.keyframe,
            TrackKind::Audio if has_video => false,
            TrackKind::Audio => {
                window.group_starts.is_empty()
                    || media.dts - window.last_group_dts >= self.limits.audio_group_ticks
            }
        }
    }

    /// Drops whole old groups beyond the limits; inside a single oversized
    /// group, drops frames from the front (new viewers then wait for the next
    /// keyframe).
    fn evict(&self, window: &mut Window) {
        while window.group_starts.len() > self.limits.max_groups
            || (window.bytes > self.limits.max_bytes && !window.frames.is_empty())
        {
            let keep_from = match window.group_starts.get(1) {
                Some(&second) if window.group_starts.len() > 1 => second,
                _ => window.base_seq + 1,
            };
            while window.base_seq < keep_from {
                let Some(frame) = window.frames.pop_front() else {
                    break;
                };
                window.bytes -= frame.payload_len();
                window.base_seq += 1;
            }
            while window
                .group_starts
                .front()
                .is_some_and(|&start| start < window.base_seq)
            {
                window.group_starts.pop_front();
            }
        }
    }

    /// Publisher `generation` left (unless it was taken over).
    pub(crate) fn publisher_left(&self, now: Instant, generation: u64) {
        let mut window = self.lock();
        if window.publisher_gen == generation {
            window.publisher_since = None;
            window.orphaned_since = Some(now);
        }
    }

    /// Whether `generation` is still the content's publisher.
    pub(crate) fn is_publisher(&self, generation: u64) -> bool {
        self.lock().publisher_gen == generation
    }

    /// A publisher took the name again within the reconnect window: the same
    /// content goes on, with a discontinuity. Returns its generation.
    pub(crate) fn publisher_returned(&self, now: Instant, relayed: bool) -> u64 {
        let mut window = self.lock();
        Self::next_publisher(&mut window, now, relayed);
        self.stats
            .publisher_reconnects
            .fetch_add(1, Ordering::Relaxed);
        window.publisher_gen
    }

    /// A local publisher of a name a relay is writing: it takes over (the
    /// relay's frames are refused from now on) and the content goes on
    /// with a discontinuity. `None` when the writer is not a relay.
    pub(crate) fn take_over(&self, now: Instant) -> Option<u64> {
        let mut window = self.lock();
        if !window.relayed || window.publisher_since.is_none() {
            return None;
        }
        Self::next_publisher(&mut window, now, false);
        self.stats
            .publisher_reconnects
            .fetch_add(1, Ordering::Relaxed);
        Some(window.publisher_gen)
    }

    /// Marks the (first) publisher of a new content as a relay.
    pub(crate) fn set_relayed(&self) {
        self.lock().relayed = true;
    }

    fn next_publisher(window: &mut Window, now: Instant, relayed: bool) {
        window.publisher_gen += 1;
        window.relayed = relayed;
        window.publisher_since = Some(now);
        window.orphaned_since = None;
        window.pending_discontinuity = true;
    }

    pub(crate) fn end(&self) {
        let next = {
            let mut window = self.lock();
            window.ended = true;
            self.ended.store(true, Ordering::Release);
            window.next_seq()
        };
        // Wake readers so they see the end.
        self.announce(next);
        self.group_started.notify_waiters();
    }
}
