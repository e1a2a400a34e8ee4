//! Recording live contents into the VoD library.
//!
//! [`run`] watches the registry: a content whose name matches a
//! `[record.NAME]` rule with `record = yes` is recorded from its first
//! keyframe until it ends; `POST /api/record/{name}` records any live
//! content the same way ([`start`]). Each recording is one internal reader
//! of the fan-out feeding an [`avrs_vod::Recorder`]. A store or disk error
//! stops that recording (what was written is kept and listed); it never
//! stops the stream or its viewers. The retention sweep runs here too.

use crate::context::NodeContext;
use avrs_core::live::{LiveContent, Protocol, Subscriber};
use avrs_vod::{Library, Recorder, VodId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Frames taken from the fan-out per wake-up.
const BATCH: usize = 64;

/// The VoD side of a node: its library and the recordings running now.
#[derive(Debug)]
pub struct VodState {
    pub library: Arc<Library>,
    /// Stream name → id of its running recording.
    active: Mutex<HashMap<String, VodId>>,
    /// Stream name → its last recording stopped by an error (until the
    /// name is recorded again), for `GET /api/record`.
    failed: Mutex<HashMap<String, Failure>>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl VodState {
    pub fn new(library: Arc<Library>, shutdown: CancellationToken) -> Self {
        Self {
            library,
            active: Mutex::new(HashMap::new()),
            failed: Mutex::new(HashMap::new()),
            tasks: TaskTracker::new(),
            shutdown,
        }
    }

    /// Running recordings: stream name and recording id.
    pub fn active(&self) -> Vec<(String, VodId)> {
        let active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<_> = active.iter().map(|(n, id)| (n.clone(), *id)).collect();
        list.sort();
        list
    }

    /// Recordings stopped by an error: stream name and what stopped it.
    pub fn failed(&self) -> Vec<(String, Failure)> {
        let failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<_> = failed.iter().map(|(n, f)| (n.clone(), f.clone())).collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        list
    }

    fn set_failed(&self, stream: &str, id: VodId, error: String) {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        failed.insert(stream.to_owned(), Failure { id, error });
    }
}

/// A recording a store or database error stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub id: VodId,
    /// The error, naming the object, the store and the cause.
    pub error: String,
}

/// Why [`start`] did not start a recording.
#[derive(Debug, PartialEq, Eq)]
pub enum StartError {
    AlreadyRecording(VodId),
}

/// Records what the rules ask for and sweeps retention until `shutdown`;
/// then lets every recording finish its last segment.
pub async fn run(context: Arc<NodeContext>, state: Arc<VodState>, shutdown: CancellationToken) {
    let mut announcements = context.registry.announcements();
    for content in context.registry.list() {
        start_by_rule(&state, content);
    }
    let mut sweep = tokio::time::interval(state.library.config().retention_interval);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = sweep.tick() => sweep_once(&state.library).await,
            announced = announcements.recv() => match announced {
                Ok(content) => start_by_rule(&state, content),
                Err(RecvError::Lagged(_)) => {
                    for content in context.registry.list() {
                        start_by_rule(&state, content);
                    }
                }
                Err(RecvError::Closed) => {
                    shutdown.cancelled().await;
                    break;
                }
            },
        }
    }
    state.tasks.close();
    state.tasks.wait().await;
}

fn start_by_rule(state: &Arc<VodState>, content: Arc<LiveContent>) {
    let Some(rule) = state.library.config().rule_for(content.name()) else {
        return;
    };
    if !rule.record || content.is_ended() {
        return;
    }
    let dvr = rule.dvr_window;
    // Already recording this name is fine (a rescan): keep the one running.
    let _ = start(state, content, dvr);
}

/// Starts recording `content` (refused if its name is being recorded).
pub fn start(
    state: &Arc<VodState>,
    content: Arc<LiveContent>,
    dvr_window: Duration,
) -> Result<VodId, StartError> {
    let mut active = state.active.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(id) = active.get(content.name()) {
        return Err(StartError::AlreadyRecording(*id));
    }
    // Subscribed now, so nothing published after the announcement is missed.
    let subscriber = content.subscribe(Protocol::Internal);
    let recorder = Recorder::new(state.library.clone(), content.name(), dvr_window);
    let id = recorder.id();
    active.insert(content.name().to_owned(), id);
    let mut failed = state.failed.lock().unwrap_or_else(|e| e.into_inner());
    failed.remove(content.name());
    drop(failed);
    tracing::info!(stream = %content.name(), %id, "recording started");
    state.tasks.spawn(record(
        state.clone(),
        recorder,
        subscriber,
        state.shutdown.clone(),
    ));
    Ok(id)
}

async fn record(
    state: Arc<VodState>,
    mut recorder: Recorder,
    mut subscriber: Subscriber,
    shutdown: CancellationToken,
) {
    let name = subscriber.content().name().to_owned();
    let mut first = true;
    'reading: loop {
        let batch = tokio::select! {
            _ = shutdown.cancelled() => break,
            batch = subscriber.read(BATCH) => batch,
        };
        // Frames lost to lag (not the wait for the first keyframe) start a
        // new period.
        let mut gap = batch.skipped > 0 && !first;
        for frame in &batch.frames {
            first = false;
            let configs = &frame.configs;
            let pushed = recorder
                .push(
                    &frame.media,
                    configs.video.as_ref(),
                    configs.audio.as_ref(),
                    frame.discontinuity || gap,
                )
                .await;
            gap = false;
            if let Err(err) = pushed {
                tracing::error!(stream = %name, id = %recorder.id(), %err,
                    "recording stopped; what was written is kept");
                state.set_failed(&name, recorder.id(), err.to_string());
                break 'reading;
            }
        }
        if batch.ended {
            break;
        }
    }
    drop(subscriber);
    let id = recorder.id();
    match recorder.finish().await {
        Ok(Some(item)) => tracing::info!(stream = %name, %id, seconds = item.duration_seconds(),
            partial = item.partial, "recording saved as a VoD content"),
        Ok(None) => tracing::info!(stream = %name, %id, "recording ended with no complete segment"),
        Err(err) => {
            tracing::error!(stream = %name, %id, %err, "cannot finish the recording");
            state.set_failed(&name, id, err.to_string());
        }
    }
    state
        .active
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&name);
}

async fn sweep_once(library: &Library) {
    match library.retention_sweep(avrs_vod_now_ms()).await {
        Ok(removed) if !removed.is_empty() => {
            tracing::info!(count = removed.len(), "retention sweep")
        }
        Ok(_) => {}
        Err(err) => tracing::error!(%err, "retention sweep failed"),
    }
}

fn avrs_vod_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
