//! `GET /api/streams`: what is live on this node.

use crate::context::NodeContext;
use avrs_core::live::{LiveContent, Protocol};
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// One live stream as the API shows it.
#[derive(Debug, Serialize)]
pub struct StreamInfo {
    pub name: String,
    /// The content's cluster-wide GUUID, `NET-SRV` in hex.
    pub content_id: String,
    pub publishing: bool,
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Average inbound media bitrate since the stream started, bits/s.
    pub bitrate: u64,
    pub viewers: BTreeMap<&'static str, u32>,
    pub uptime_seconds: f64,
    pub frames_in: u64,
    pub frames_dropped: u64,
    /// Times the publisher came back within `reconnect_timeout` (for a
    /// relayed content: times its origin changed, a publisher that moved
    /// to another server).
    pub publisher_reconnects: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl StreamInfo {
    pub fn of(content: &LiveContent, now: Instant) -> Self {
        let configs = content.configs();
        let stats = &content.stats;
        let uptime = now
            .saturating_duration_since(content.started())
            .as_secs_f64();
        let bytes_in = stats.bytes_in.load(Ordering::Relaxed);
        let bitrate = if uptime > 0.0 {
            (bytes_in as f64 * 8.0 / uptime) as u64
        } else {
            0
        };
        Self {
            name: content.name().to_owned(),
            content_id: content.id().to_string(),
            publishing: content.is_publishing(),
            video_codec: configs.video.as_ref().map(|v| v.codec.clone()),
            audio_codec: configs.audio.as_ref().map(|a| a.codec.clone()),
            width: configs.video.as_ref().map(|v| v.width),
            height: configs.video.as_ref().map(|v| v.height),
            bitrate,
            viewers: Protocol::ALL
                .iter()
                .map(|p| (p.name(), stats.viewers(*p)))
                .collect(),
            uptime_seconds: (uptime * 1000.0).round() / 1000.0,
            frames_in: stats.frames_in.load(Ordering::Relaxed),
            frames_dropped: stats.frames_dropped.load(Ordering::Relaxed),
            publisher_reconnects: stats.publisher_reconnects.load(Ordering::Relaxed),
            bytes_in,
            bytes_out: stats.bytes_out.load(Ordering::Relaxed),
        }
    }
}

pub async fn streams(State(context): State<Arc<NodeContext>>) -> Json<Vec<StreamInfo>> {
    let now = Instant::now();
    Json(
        context
            .registry
            .list()
            .iter()
            .map(|content| StreamInfo::of(content, now))
            .collect(),
    )
}
