//! HTTP of the cluster: `GET /api/cluster/members`, `POST
//! /api/cluster/approve` (host, loopback callers only: it is what
//! `avrs cluster approve` runs on the host), `GET /api/balance`, and the
//! balancer's redirect of `/live/…` viewers to the best server.

use super::{Cluster, roles};
use crate::context::NodeContext;
use avrs_auth::Operation;
use avrs_cluster::Liveness;
use avrs_proto::Hash32;
use avrs_proto::avrs::Roles;
use axum::Json;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Most ids an `exclude` list may name.
const MAX_EXCLUDE: usize = 16;

fn no_cluster() -> Response {
    (StatusCode::NOT_FOUND, "this node is not in a cluster\n").into_response()
}

/// `GET /api/cluster/members`: this node's view of the cluster.
pub async fn members(State(context): State<Arc<NodeContext>>) -> Response {
    let Some(cluster) = context.cluster.get() else {
        return no_cluster();
    };
    let view = cluster.view();
    let members: Vec<_> = view
        .members()
        .map(|(id, info)| {
            let state = info.state.as_ref();
            let service = state.map(|s| s.service).unwrap_or_default();
            json!({
                "id": id.to_hex(),
                "liveness": match info.liveness {
                    Liveness::Alive => "alive",
                    Liveness::Suspect => "suspect",
                    Liveness::Down { .. } => "down",
                },
                "roles": state.map(|s| s.roles.to_string()),
                "http": service.socket(service.http).map(|a| a.to_string()),
                "quic": service.socket(service.quic).map(|a| a.to_string()),
                "connections": state.map(|s| s.load.connections),
                "contents": state.map(|s| s.contents.len()),
            })
        })
        .collect();
    let pending: Vec<String> = super::lock(&cluster.approvals)
        .pending
        .keys()
        .map(Hash32::to_hex)
        .collect();
    let stats = cluster.stats();
    Json(json!({
        "me": cluster.me.to_hex(),
        "gossip": cluster.gossip_address.to_string(),
        "members": members,
        "pending": pending,
        "relay_frames_corrupted": cluster.relays.corrupted.load(std::sync::atomic::Ordering::Relaxed),
        "gossip_sent": stats.sent,
        "gossip_refused": stats.refused_auth,
    }))
    .into_response()
}

/// `GET /api/cluster/routes`: this node's place in each content's relay
/// tree (ROUTE_ADD grants): where it comes from, whom it feeds.
pub async fn routes(State(context): State<Arc<NodeContext>>) -> Response {
    let Some(cluster) = context.cluster.get() else {
        return no_cluster();
    };
    let hex = |ids: &[Hash32]| ids.iter().map(Hash32::to_hex).collect::<Vec<_>>();
    let routes: Vec<_> = cluster
        .routes
        .snapshot()
        .into_iter()
        .map(|route| {
            json!({
                "content": route.content.to_string(),
                "upstream": route.upstream,
                "depth": route.depth,
                "path": hex(&route.path),
                "children": hex(&route.children),
            })
        })
        .collect();
    Json(json!({ "me": cluster.me.to_hex(), "routes": routes })).into_response()
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    pub id: String,
}

/// `POST /api/cluster/approve` `{"id": "HEX"}`: MEMBER_REQUEST_APPROVE on
/// the host. Only loopback callers (the operator on the host's machine).
pub async fn approve(
    State(context): State<Arc<NodeContext>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    body: axum::body::Bytes,
) -> Response {
    let Some(cluster) = context.cluster.get() else {
        return no_cluster();
    };
    if !client.ip().is_loopback() {
        return (
            StatusCode::FORBIDDEN,
            "approve from the host's machine only\n",
        )
            .into_response();
    }
    if let Err(why) = roles::check(cluster.roles, Operation::MemberRequestApprove) {
        let text = format!("{why} ({})\n", why.retcode().name());
        return (StatusCode::FORBIDDEN, text).into_response();
    }
    if body.len() > 1024 {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
    }
    let id = serde_json::from_slice::<ApproveRequest>(&body)
        .ok()
        .and_then(|r| Hash32::from_hex(r.id.trim()).ok());
    let Some(id) = id else {
        return (
            StatusCode::BAD_REQUEST,
            "give {\"id\": \"64 hex digits\"}\n",
        )
            .into_response();
    };
    let was_waiting = super::lock(&cluster.approvals).approve(id);
    tracing::info!(member = %id.to_hex(), was_waiting, "cluster: member approved");
    Json(json!({ "approved": id.to_hex(), "was_waiting": was_waiting })).into_response()
}

fn exclude_list(query: &HashMap<String, String>) -> Vec<Hash32> {
    query
        .get("exclude")
        .map(|list| {
            list.split(',')
                .take(MAX_EXCLUDE)
                .filter_map(|id| Hash32::from_hex(id.trim()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /api/balance?content=live/NAME&exclude=ID,ID`: BALANCE_REQUEST.
pub async fn balance(
    State(context): State<Arc<NodeContext>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(cluster) = context.cluster.get() else {
        return no_cluster();
    };
    let content = query.get("content").map(String::as_str);
    match cluster.choose_server(content, exclude_list(&query)) {
        Some((id, s)) => Json(json!({
            "server": id.to_hex(),
            "http": s.socket(s.http).map(|a| a.to_string()),
            "quic": s.socket(s.quic).map(|a| a.to_string()),
            "rtmp": s.socket(s.rtmp).map(|a| a.to_string()),
        }))
        .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "no server available\n").into_response(),
    }
}

/// On a balancer that is not a server: `302` to the best server's same
/// URL for `live/{path}`, with `X-Avrs-Server: ID` so a client that loses
/// that server can ask again with `?exclude=ID`. `None`: serve locally.
pub fn redirect(context: &NodeContext, path: &str, query: Option<&str>) -> Option<Response> {
    let cluster: &Arc<Cluster> = context.cluster.get()?;
    if !cluster.roles.contains(Roles::BALANCER) || cluster.roles.contains(Roles::SERVER) {
        return None;
    }
    let name = path
        .strip_suffix(".flv")
        .or_else(|| path.rsplit_once('/').map(|(name, _)| name))?;
    let params: HashMap<String, String> = query
        .map(|q| {
            q.split('&')
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let content = format!("live/{name}");
    let Some((id, service)) = cluster.choose_server(Some(&content), exclude_list(&params)) else {
        return Some((StatusCode::SERVICE_UNAVAILABLE, "no server available\n").into_response());
    };
    let Some(http) = service.socket(service.http) else {
        return Some((StatusCode::SERVICE_UNAVAILABLE, "no server available\n").into_response());
    };
    let mut location = format!("http://{http}/live/{path}");
    if let Some(query) = query {
        location.push('?');
        location.push_str(query);
    }
    Some(
        (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (
                    header::HeaderName::from_static("x-avrs-server"),
                    id.to_hex(),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
        )
            .into_response(),
    )
}
