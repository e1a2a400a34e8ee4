//! VoD over HTTP: the library API, HLS playback of contents (and the DVR
//! playlist of running recordings), resumable uploads, and recording on
//! request. Everything answers 503 when the node has no VoD library.

use crate::context::NodeContext;
use crate::record::{self, StartError, VodState};
use avrs_vod::{ImportMeta, VodError, VodId, VodItem};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

type Ctx = State<Arc<NodeContext>>;

/// The header carrying a resumable upload's offset.
const UPLOAD_OFFSET: &str = "upload-offset";

pub fn routes() -> Router<Arc<NodeContext>> {
    Router::new()
        .route("/api/vod", get(list))
        .route("/api/vod/{id}", get(show).delete(remove))
        .route("/api/vod/uploads", post(create_upload))
        .route(
            "/api/vod/uploads/{id}",
            axum::routing::patch(append).head(offset).delete(abort),
        )
        .route("/api/vod/uploads/{id}/finish", post(finish))
        .route("/api/vod/retention", post(retention))
        .route("/api/record", get(recordings))
        .route("/api/record/{*name}", post(start_recording))
        .route("/vod/{id}/{file}", get(media))
}

// The error is the response itself, returned as is by every handler.
#[allow(clippy::result_large_err)]
fn state(context: &NodeContext) -> Result<&Arc<VodState>, Response> {
    context.vod.get().ok_or_else(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "VoD is not enabled on this node\n",
        )
            .into_response()
    })
}

/// The status and one-line message of an error.
fn failure(err: &VodError) -> Response {
    let status = match err {
        VodError::NotFound(_) => StatusCode::NOT_FOUND,
        VodError::BadId { .. } => StatusCode::BAD_REQUEST,
        VodError::Media(_) | VodError::Unusable(_) => StatusCode::UNPROCESSABLE_ENTITY,
        VodError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        VodError::OffsetMismatch { .. } | VodError::Busy(_) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(%err, "VoD request failed");
    }
    (status, format!("{err}\n")).into_response()
}

#[allow(clippy::result_large_err)]
fn parse_id(text: &str) -> Result<VodId, Response> {
    VodId::parse(text).map_err(|e| failure(&e))
}

/// An item as the API lists it: the stored record plus playback URLs and
/// seconds; `segments` only when asked for one item.
fn summary(item: &VodItem, with_segments: bool) -> Value {
    let mut value = serde_json::to_value(item).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert("duration".into(), json!(item.duration_seconds()));
        object.insert("hls".into(), json!(format!("/vod/{}/index.m3u8", item.id)));
        object.insert(
            "master".into(),
            json!(format!("/vod/{}/master.m3u8", item.id)),
        );
        if !with_segments && let Some(Value::Array(renditions)) = object.get_mut("renditions") {
            for rendition in renditions.iter_mut().filter_map(Value::as_object_mut) {
                let count = rendition
                    .remove("segments")
                    .and_then(|s| s.as_array().map(Vec::len));
                rendition.insert("segment_count".into(), json!(count.unwrap_or(0)));
            }
        }
    }
    value
}

async fn list(State(context): Ctx) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match state.library.list() {
        Ok(items) => {
            axum::Json(items.iter().map(|i| summary(i, false)).collect::<Vec<_>>()).into_response()
        }
        Err(err) => failure(&err),
    }
}

async fn show(State(context): Ctx, Path(id): Path<String>) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match state.library.get(id) {
        Ok(item) => axum::Json(summary(&item, true)).into_response(),
        Err(err) => failure(&err),
    }
}

async fn remove(State(context): Ctx, Path(id): Path<String>) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match state.library.delete(id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => failure(&err),
    }
}

/// `GET /vod/{id}/{file}`: playlists, init segments, segments.
async fn media(State(context): Ctx, Path((id, file)): Path<(String, String)>) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let library = &state.library;
    let playlist = match file.as_str() {
        "index.m3u8" => Some(library.media_playlist(id)),
        "master.m3u8" => Some(library.master_playlist(id)),
        _ => None,
    };
    if let Some(text) = playlist {
        return match text {
            Ok(text) => (
                [
                    (header::CONTENT_TYPE, "application/vnd.apple.mpegurl"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                text,
            )
                .into_response(),
            Err(err) => failure(&err),
        };
    }
    match library.read_object(id, &file).await {
        // Objects never change once written.
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "video/mp4"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        Err(err) => failure(&err),
    }
}

async fn create_upload(State(context): Ctx) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let uploads = state.library.uploads();
    match uploads.create() {
        Ok(id) => {
            let url = format!("/api/vod/uploads/{id}");
            let body = json!({ "id": id, "url": url, "offset": 0, "max_size": uploads.max_size() });
            (
                StatusCode::CREATED,
                [(header::LOCATION, url)],
                axum::Json(body),
            )
                .into_response()
        }
        Err(err) => failure(&err),
    }
}

fn with_offset(mut response: Response, offset: u64) -> Response {
    response
        .headers_mut()
        .insert(UPLOAD_OFFSET, HeaderValue::from(offset));
    response
}

/// `HEAD`: how many bytes the upload holds (resume from there).
async fn offset(State(context): Ctx, Path(id): Path<String>) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match state.library.uploads().offset(&id) {
        Ok(offset) => with_offset(StatusCode::OK.into_response(), offset),
        Err(err) => failure(&err),
    }
}

/// `PATCH` with `Upload-Offset: N`: appends the body at N (409 elsewhere).
async fn append(
    State(context): Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let given = headers
        .get(UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(given) = given else {
        return (
            StatusCode::BAD_REQUEST,
            "missing or malformed Upload-Offset header\n",
        )
            .into_response();
    };
    let uploads = state.library.uploads();
    match uploads.append(&id, given, body.into_data_stream()).await {
        Ok(offset) => with_offset(StatusCode::NO_CONTENT.into_response(), offset),
        Err(err @ VodError::OffsetMismatch { have, .. }) => with_offset(failure(&err), have),
        Err(err) => failure(&err),
    }
}

async fn abort(State(context): Ctx, Path(id): Path<String>) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match state.library.uploads().remove(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => failure(&err),
    }
}

#[derive(Debug, Default, Deserialize)]
struct FinishQuery {
    title: Option<String>,
    name: Option<String>,
    owner: Option<String>,
    /// Comma-separated.
    tags: Option<String>,
    file: Option<String>,
}

/// Imports the uploaded bytes; 422 names what is wrong with the file.
async fn finish(
    State(context): Ctx,
    Path(id): Path<String>,
    Query(query): Query<FinishQuery>,
) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let clip = |s: String| s.chars().take(512).collect::<String>();
    let meta = ImportMeta {
        title: query.title.map(clip),
        name: query.name.map(clip),
        owner: query.owner.map(clip),
        tags: query
            .tags
            .map(|t| {
                t.split(',')
                    .map(|s| clip(s.trim().to_owned()))
                    .filter(|s| !s.is_empty())
                    .take(32)
                    .collect()
            })
            .unwrap_or_default(),
        file: query.file.map(clip),
    };
    match state.library.import_upload(&id, meta, &mut |_| {}).await {
        Ok(item) => (StatusCode::CREATED, axum::Json(summary(&item, false))).into_response(),
        Err(err) => failure(&err),
    }
}

async fn retention(State(context): Ctx) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    match state.library.retention_sweep(now).await {
        Ok(removed) => axum::Json(json!({ "removed": removed })).into_response(),
        Err(err) => failure(&err),
    }
}

async fn recordings(State(context): Ctx) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let list: Vec<Value> = state
        .active()
        .into_iter()
        .map(|(stream, id)| json!({ "stream": stream, "id": id, "dvr": format!("/vod/{id}/index.m3u8") }))
        .collect();
    axum::Json(list).into_response()
}

/// `POST /api/record/{name}`: records the live content `name` until it ends.
async fn start_recording(State(context): Ctx, Path(name): Path<String>) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(content) = context.registry.get(&name).filter(|c| !c.is_ended()) else {
        return (StatusCode::NOT_FOUND, format!("no live stream {name:?}\n")).into_response();
    };
    let dvr = state
        .library
        .config()
        .rule_for(&name)
        .map_or(std::time::Duration::from_secs(7200), |r| r.dvr_window);
    match record::start(state, content, dvr) {
        Ok(id) => (
            StatusCode::CREATED,
            axum::Json(json!({ "stream": name, "id": id, "dvr": format!("/vod/{id}/index.m3u8") })),
        )
            .into_response(),
        Err(StartError::AlreadyRecording(id)) => (
            StatusCode::CONFLICT,
            format!("{name:?} is already being recorded as {id}\n"),
        )
            .into_response(),
    }
}
