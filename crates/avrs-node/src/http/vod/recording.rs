//! Recordings over HTTP: what runs (or was stopped by an error), and
//! recording a live stream on request.

use super::{Ctx, state};
use crate::record::{self, StartError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// `GET /api/record`: running recordings, then those an error stopped.
pub(super) async fn list(State(context): Ctx) -> Response {
    let state = match state(&context) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let running = state.active().into_iter().map(|(stream, id)| {
        json!({ "stream": stream, "id": id, "state": "recording", "dvr": format!("/vod/{id}/index.m3u8") })
    });
    // What an error stopped stays visible until the name is recorded again;
    // what was written before it is a content (`/vod/ID/…`).
    let failed = state.failed().into_iter().map(|(stream, failure)| {
        let id = failure.id;
        json!({ "stream": stream, "id": id, "state": "failed", "error": failure.error, "hls": format!("/vod/{id}/index.m3u8") })
    });
    axum::Json(running.chain(failed).collect::<Vec<Value>>()).into_response()
}

/// `POST /api/record/{name}`: records the live content `name` until it ends.
pub(super) async fn start(State(context): Ctx, Path(name): Path<String>) -> Response {
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
