//! ABAC policies through the admin API (`docs/security.md`, "ABAC"):
//!
//! - `GET /api/admin/policies`: every policy, config ones first (token with
//!   role host or operator).
//! - `PUT /api/admin/policies/{name}`: sets one from a JSON object of the
//!   same keys as `[policy.NAME]` (token with role host + TOTP).
//! - `DELETE /api/admin/policies/{name}`: removes one set through the API.

use crate::auth::{MAX_ADMIN_BODY, admin_action, monitored, refusal};
use crate::context::NodeContext;
use avrs_auth::Operation;
use avrs_auth::authorizer_policies::PolicyChangeError;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

pub async fn list(
    State(context): State<Arc<NodeContext>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    monitored(
        &context,
        &headers,
        client,
        || serde_json::json!({ "policies": context.authorizer.policy_list() }),
    )
}

pub async fn put(
    State(context): State<Arc<NodeContext>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let claims = match admin_action(&context, &headers, client, Operation::AdminPolicyChange) {
        Ok(claims) => claims,
        Err(why) => return refusal(&why),
    };
    if body.len() > MAX_ADMIN_BODY {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
    }
    let entries: BTreeMap<String, String> = match serde_json::from_slice(&body) {
        Ok(entries) => entries,
        Err(err) => {
            let why =
                format!("bad request: a JSON object of policy keys and string values: {err}\n");
            return (StatusCode::BAD_REQUEST, why).into_response();
        }
    };
    match context.authorizer.put_policy(&name, entries, &claims.sub) {
        Ok(created) => {
            tracing::info!(by = %claims.sub, policy = %name, "policy set");
            let body = serde_json::json!({ "name": name, "created": created });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(err) => refused(&err),
    }
}

pub async fn delete(
    State(context): State<Arc<NodeContext>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let claims = match admin_action(&context, &headers, client, Operation::AdminPolicyChange) {
        Ok(claims) => claims,
        Err(why) => return refusal(&why),
    };
    match context.authorizer.delete_policy(&name, &claims.sub) {
        Ok(()) => {
            tracing::info!(by = %claims.sub, policy = %name, "policy removed");
            let body = serde_json::json!({ "name": name, "removed": true });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(err) => refused(&err),
    }
}

fn refused(err: &PolicyChangeError) -> Response {
    let status = match err {
        PolicyChangeError::FromConfig(_) => StatusCode::CONFLICT,
        PolicyChangeError::NotFound(_) => StatusCode::NOT_FOUND,
        PolicyChangeError::Invalid(_) => StatusCode::BAD_REQUEST,
        PolicyChangeError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, format!("{err}\n")).into_response()
}
