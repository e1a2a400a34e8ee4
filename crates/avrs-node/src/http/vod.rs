//! VoD over HTTP: the library API and HLS playback of contents (and the
//! DVR playlist of running recordings) in [`library`], resumable uploads in
//! [`uploads`], recording on request in [`recording`], a browser player in
//! [`player`]. Everything answers 503 when the node has no VoD library.

mod library;
mod player;
mod recording;
mod uploads;

use crate::context::NodeContext;
use crate::record::VodState;
use avrs_vod::{Library, VodError, VodId};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

type Ctx = State<Arc<NodeContext>>;

pub fn routes() -> Router<Arc<NodeContext>> {
    Router::new()
        .route("/api/vod", get(library::list))
        .route("/api/vod/{id}", get(library::show).delete(library::remove))
        .route("/api/vod/uploads", post(uploads::create))
        .route(
            "/api/vod/uploads/{id}",
            axum::routing::patch(uploads::append)
                .head(uploads::offset)
                .delete(uploads::abort),
        )
        .route("/api/vod/uploads/{id}/finish", post(uploads::finish))
        .route("/api/vod/retention", post(library::retention))
        .route("/api/record", get(recording::list))
        .route("/api/record/{*name}", post(recording::start))
        .route("/vod/hls.min.js", get(player::hls_js))
        .route("/vod/{id}/player", get(player::page))
        .route("/vod/{id}/{file}", get(library::media))
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

/// Runs a library call that reads the database on a blocking thread, so
/// a slow disk never stalls the HTTP runtime.
async fn blocking<T: Send + 'static>(
    state: &VodState,
    work: impl FnOnce(&Library) -> avrs_vod::Result<T> + Send + 'static,
) -> avrs_vod::Result<T> {
    let library = state.library.clone();
    tokio::task::spawn_blocking(move || work(&library))
        .await
        .map_err(|e| VodError::Io {
            what: "a VoD database call stopped".into(),
            source: std::io::Error::other(e),
        })?
}

#[allow(clippy::result_large_err)]
fn parse_id(text: &str) -> Result<VodId, Response> {
    VodId::parse(text).map_err(|e| failure(&e))
}
