//! The library over HTTP: list, show, delete, retention, and HLS playback
//! (playlists and objects) of contents and running recordings.

use super::{Ctx, blocking, failure, parse_id, state};
use avrs_vod::VodItem;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An item as the API lists it: the stored record plus playback URLs and
/// seconds; `segments` only when asked for one item.
pub(super) fn summary(item: &VodItem, with_segments: bool) -> Value {
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

pub(super) async fn list(State(context): Ctx) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match blocking(state, |library| library.list()).await {
        Ok(items) => {
            axum::Json(items.iter().map(|i| summary(i, false)).collect::<Vec<_>>()).into_response()
        }
        Err(err) => failure(&err),
    }
}

pub(super) async fn show(State(context): Ctx, Path(id): Path<String>) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match blocking(state, move |library| library.get(id)).await {
        Ok(item) => axum::Json(summary(&item, true)).into_response(),
        Err(err) => failure(&err),
    }
}

pub(super) async fn remove(State(context): Ctx, Path(id): Path<String>) -> Response {
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
pub(super) async fn media(
    State(context): Ctx,
    Path((id, file)): Path<(String, String)>,
) -> Response {
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
        "index.m3u8" => Some(blocking(state, move |l| l.media_playlist(id)).await),
        "master.m3u8" => Some(blocking(state, move |l| l.master_playlist(id)).await),
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

pub(super) async fn retention(State(context): Ctx) -> Response {
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
