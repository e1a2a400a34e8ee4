//! HTTP: the viewer outputs (HTTP-FLV, later LL-HLS), the JSON API and the
//! Prometheus metrics, on one listener, and the same routes over TLS
//! ([`serve_tls`]) when the node has a certificate.

mod api;
mod flv;
pub mod hls;
mod metrics;
mod policies;
pub mod vod;

use crate::context::NodeContext;
use axum::Router;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The routes of a node's HTTP listener.
pub fn router(context: Arc<NodeContext>) -> Router {
    Router::new()
        .route("/api/streams", get(api::streams))
        .route("/metrics", get(metrics::render))
        .route("/live/{*path}", get(live))
        .route("/api/cluster/members", get(crate::cluster::api::members))
        .route("/api/cluster/routes", get(crate::cluster::api::routes))
        .route(
            "/api/cluster/approve",
            axum::routing::post(crate::cluster::api::approve),
        )
        .route(
            "/api/cluster/control",
            axum::routing::post(crate::cluster::control::http::control),
        )
        .route("/api/balance", get(crate::cluster::api::balance))
        .merge(vod::routes())
        .route(
            "/api/admin/revoke",
            axum::routing::post(crate::auth::revoke),
        )
        .route("/api/admin/sessions", get(crate::auth::sessions))
        .route("/api/admin/policies", get(policies::list))
        .route(
            "/api/admin/policies/{name}",
            axum::routing::put(policies::put).delete(policies::delete),
        )
        .with_state(context)
}

/// `GET /live/{*path}`: `NAME.flv` is HTTP-FLV of the content `live/NAME`;
/// `NAME/FILE` (playlists, init segments, segments, parts) is its HLS.
async fn live(
    State(context): State<Arc<NodeContext>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: axum::http::HeaderMap,
) -> Response {
    // Viewer credentials: `Authorization: Bearer TOKEN` or `?token=TOKEN`.
    let bearer = crate::auth::authorization(&headers);
    if let Some(redirect) = crate::cluster::api::redirect(&context, &path, query.as_deref()) {
        return redirect;
    }
    if let Some(name) = path.strip_suffix(".flv") {
        return flv::serve(context, client.ip(), name, bearer, query.as_deref()).await;
    }
    match path.rsplit_once('/') {
        Some((name, file)) => {
            hls::serve(context, client.ip(), name, file, query.as_deref(), bearer).await
        }
        None => (
            StatusCode::NOT_FOUND,
            "unknown output: use live/NAME.flv or live/NAME/index.m3u8\n",
        )
            .into_response(),
    }
}

/// Serves HTTP until `shutdown`; open responses (viewer streams) end then.
pub async fn serve(listener: TcpListener, context: Arc<NodeContext>, shutdown: CancellationToken) {
    let app = router(context);
    let stop = shutdown.clone();
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(err) = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
    {
        tracing::error!(%err, "HTTP listener failed");
    }
}

/// [`serve`] over TLS: the same routes on connections whose handshake
/// [`crate::tls::TlsListener`] completed.
pub async fn serve_tls(
    listener: crate::tls::TlsListener,
    context: Arc<NodeContext>,
    shutdown: CancellationToken,
) {
    use crate::tls::listener_peer::{TlsPeer, peer_as_socket_addr};
    let app = router(context).layer(axum::middleware::map_request(peer_as_socket_addr));
    let app = app.into_make_service_with_connect_info::<TlsPeer>();
    if let Err(err) = axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
    {
        tracing::error!(%err, "HTTPS listener failed");
    }
}
