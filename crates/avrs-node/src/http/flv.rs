//! HTTP-FLV: `GET /live/NAME.flv` streams FLV from the newest keyframe on.
//!
//! Each frame's FLV tag is made once and shared by every HTTP-FLV viewer
//! (`Encoding::FlvTag`); a viewer's response gets whatever is ready at each
//! wake-up, one buffer per tag, which hyper writes vectored. The per-viewer
//! loop allocates nothing per wake-up: the read batch and the queue of tags
//! live in the viewer and keep their capacity.

use crate::auth::LiveGrant;
use crate::context::NodeContext;
use avrs_core::live::{Encoding, LiveFrame, Protocol, ReadBatch, Subscriber, TrackConfigs};
use avrs_media::flv;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Most frames taken from the fan-out per wake-up.
const BATCH: usize = 256;

/// HTTP-FLV of the content `live/{name}`, for a viewer the authorizer
/// accepts (token in `authorization` or `?token=`, when `play = token`).
/// The response ends when the viewer's grant is revoked or expires.
pub async fn serve(
    context: Arc<NodeContext>,
    client: IpAddr,
    name: &str,
    authorization: Option<&str>,
    query: Option<&str>,
) -> Response {
    let content_name = format!("live/{name}");
    let credential = avrs_auth::Credential::from_http(authorization, query);
    let now = avrs_auth::unix_now();
    let grant =
        match context
            .authorizer
            .authorize_clear_play(client, &content_name, credential, now, true)
        {
            Ok(grant) => grant,
            Err(why) => return crate::auth::refusal(&why),
        };
    let Some(content) = crate::cluster::locate::find_live(&context, &content_name).await else {
        return (
            StatusCode::NOT_FOUND,
            format!("stream '{content_name}' is not live\n"),
        )
            .into_response();
    };
    if let Err(why) = crate::auth::refuse_sealed(&context, &content, client) {
        return crate::auth::refusal(&why);
    }
    let viewer = FlvViewer {
        subscriber: content.subscribe(Protocol::HttpFlv),
        configs: None,
        batch: ReadBatch::default(),
        pending: VecDeque::new(),
        _open: OpenStream::new(context.clone()),
        live: LiveGrant::new(context.clone(), grant),
    };
    let body = stream::unfold(viewer, next_chunk);
    Response::builder()
        .header(header::CONTENT_TYPE, "video/x-flv")
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// One HTTP-FLV response in progress.
struct FlvViewer {
    subscriber: Subscriber,
    /// The configurations last announced to this viewer.
    configs: Option<Arc<TrackConfigs>>,
    /// Reused for every read.
    batch: ReadBatch,
    /// Tags of the last read not yet handed to hyper. hyper takes them all
    /// before it writes, so a wake-up still ends in one vectored write.
    pending: VecDeque<Bytes>,
    _open: OpenStream,
    /// The viewer's grant, rechecked while it watches.
    live: LiveGrant,
}

/// Counts open HTTP viewer streams for `/metrics`.
struct OpenStream(Arc<NodeContext>);

impl OpenStream {
    fn new(context: Arc<NodeContext>) -> Self {
        context
            .metrics
            .http_connections
            .fetch_add(1, Ordering::Relaxed);
        Self(context)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0
            .metrics
            .http_connections
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// The next buffer for one viewer, or `None` when the content has ended.
async fn next_chunk(mut viewer: FlvViewer) -> Option<(Result<Bytes, Infallible>, FlvViewer)> {
    loop {
        if let Some(chunk) = viewer.pending.pop_front() {
            return Some((Ok(chunk), viewer));
        }
        viewer.subscriber.try_read_into(BATCH, &mut viewer.batch);
        let mut batch = std::mem::take(&mut viewer.batch);
        let mut bytes = 0;
        for frame in &batch.frames {
            announce_configs(&mut viewer, frame, &mut bytes);
            let tag = frame.encoded(Encoding::FlvTag, flv_tag);
            if !tag.is_empty() {
                bytes += tag.len();
                viewer.pending.push_back(tag);
            }
        }
        // Do not keep frames alive past their window.
        batch.frames.clear();
        let ended = batch.ended;
        viewer.batch = batch;
        viewer.subscriber.count_bytes_out(bytes);
        if viewer.pending.is_empty() {
            if ended {
                return None;
            }
            tokio::select! {
                _ = viewer.subscriber.wait() => {}
                // Revoked or expired: end the response (the reason is
                // logged and audited; HTTP has no way to say it now).
                _ = viewer.live.ended() => return None,
            }
        }
    }
}

/// Before the first frame: the file header, metadata and sequence headers.
/// After a configuration change: the new sequence headers, so what follows
/// decodes.
fn announce_configs(viewer: &mut FlvViewer, frame: &LiveFrame, bytes: &mut usize) {
    if viewer
        .configs
        .as_ref()
        .is_some_and(|seen| Arc::ptr_eq(seen, &frame.configs))
    {
        return;
    }
    let configs = &frame.configs;
    let (video, audio) = (configs.video.as_ref(), configs.audio.as_ref());
    let announced = if viewer.configs.is_none() {
        flv::stream_head(video, audio).map(|head| vec![head])
    } else {
        let ms = flv::frame_timestamp_ms(&frame.media);
        let tags = video.map(|v| flv::video_config_tag(v, ms));
        let tags = tags
            .into_iter()
            .chain(audio.map(|a| flv::audio_config_tag(a, ms)));
        tags.collect()
    };
    match announced {
        Ok(parts) => {
            for part in parts {
                *bytes += part.len();
                viewer.pending.push_back(Bytes::from(part));
            }
        }
        Err(err) => tracing::warn!(%err, "cannot announce codec configuration over FLV"),
    }
    viewer.configs = Some(configs.clone());
}

/// The frame as a whole FLV tag; a frame too large for FLV is sent as
/// nothing (FLV cannot carry it) and logged.
fn flv_tag(frame: &LiveFrame) -> Bytes {
    match flv::frame_tag(&frame.media) {
        Ok(tag) => Bytes::from(tag),
        Err(err) => {
            tracing::warn!(%err, seq = frame.seq, "frame cannot be carried in FLV");
            Bytes::new()
        }
    }
}
