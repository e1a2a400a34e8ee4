//! Resumable uploads (`POST`, `HEAD`, `PATCH` with `Upload-Offset`,
//! `DELETE`) and their import (`…/finish`).

use super::library::summary;
use super::{Ctx, failure, state};
use avrs_vod::{ImportMeta, VodError};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

/// The header carrying a resumable upload's offset.
const UPLOAD_OFFSET: &str = "upload-offset";

pub(super) async fn create(State(context): Ctx) -> Response {
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
pub(super) async fn offset(State(context): Ctx, Path(id): Path<String>) -> Response {
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
pub(super) async fn append(
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

pub(super) async fn abort(State(context): Ctx, Path(id): Path<String>) -> Response {
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
pub(super) struct FinishQuery {
    title: Option<String>,
    name: Option<String>,
    owner: Option<String>,
    /// Comma-separated.
    tags: Option<String>,
    file: Option<String>,
}

/// Imports the uploaded bytes; 422 names what is wrong with the file.
pub(super) async fn finish(
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
