//! Auth glue between the drivers and [`avrs_auth::Authorizer`]: a live
//! session's grant watch, the revocation file reload task, and the HTTP
//! admin API (`POST /api/admin/revoke`).

use crate::context::NodeContext;
use avrs_auth::audit::AuditEvent;
use avrs_auth::{AuthError, Grant, Operation, Via};
use avrs_core::live::LiveContent;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A live session's grant: [`LiveGrant::ended`] resolves when it no longer
/// holds (revoked or expired), checked every `heartbeat_interval` and at
/// once when the revocation list changes.
pub struct LiveGrant {
    context: Arc<NodeContext>,
    grant: Grant,
    changes: tokio::sync::watch::Receiver<u64>,
    tick: tokio::time::Interval,
}

impl LiveGrant {
    pub fn new(context: Arc<NodeContext>, grant: Grant) -> Self {
        let period = context.authorizer.recheck_interval();
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let changes = context.authorizer.changes();
        Self {
            context,
            grant,
            changes,
            tick,
        }
    }

    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// Resolves with the reason when the grant ends; grants that cannot end
    /// (open, loopback, stream key) never resolve. Cancel-safe.
    pub async fn ended(&mut self) -> AuthError {
        if matches!(self.grant.via, Via::Open | Via::Loopback | Via::StreamKey) {
            return std::future::pending().await;
        }
        loop {
            tokio::select! {
                _ = self.tick.tick() => {}
                changed = self.changes.changed() => {
                    if changed.is_err() {
                        // The authorizer is gone (node stopping): only the
                        // timer remains.
                        self.tick.tick().await;
                    }
                }
            }
            if let Err(why) = self
                .context
                .authorizer
                .recheck(&self.grant, avrs_auth::unix_now())
            {
                self.context.authorizer.audit(AuditEvent {
                    event: "session_closed",
                    subject: Some(self.grant.subject.clone()),
                    content: Some(self.grant.content.clone()),
                    result: "deny",
                    reason: Some(why.to_string()),
                    jti: self.grant.jti.clone(),
                    ..AuditEvent::default()
                });
                tracing::warn!(stream = %self.grant.content, subject = %self.grant.subject,
                    %why, "session closed: grant no longer holds");
                return why;
            }
        }
    }
}

/// `ended` of an optional grant: pending forever without one.
pub async fn ended(live: &mut Option<LiveGrant>) -> AuthError {
    match live {
        Some(live) => live.ended().await,
        None => std::future::pending().await,
    }
}

/// Reads the revocation file again every `heartbeat_interval`, so a list
/// written by `avrs token revoke` (or an editor) reaches live sessions.
pub async fn reload_revocations(context: Arc<NodeContext>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(context.authorizer.recheck_interval());
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                if let Err(err) = context.authorizer.reload_revocations() {
                    tracing::warn!(%err, "revocation list not reloaded");
                }
            }
        }
    }
}

/// An output in clear (RTMP play, HTTP-FLV, HLS) of `content`: refused,
/// and audited, when its frames arrive sealed and this node holds no key.
/// [`avrs_auth::Authorizer::authorize_clear_play`] refuses by this node's
/// own `[auth] encrypt`; this check holds on a relay configured without it,
/// since sealing is told by the frames themselves.
pub fn refuse_sealed(
    context: &NodeContext,
    content: &LiveContent,
    peer: IpAddr,
) -> Result<(), AuthError> {
    if !content.is_sealed() {
        return Ok(());
    }
    let why = AuthError::EncryptedContent(content.name().to_owned());
    tracing::warn!(stream = %content.name(), %peer, %why, "play refused");
    context.authorizer.audit(AuditEvent {
        event: "play",
        peer: Some(peer.to_string()),
        action: Some("play".into()),
        content: Some(content.name().to_owned()),
        result: "deny",
        reason: Some(why.to_string()),
        ..AuditEvent::default()
    });
    Err(why)
}

/// The HTTP status of a refusal: 401 when the client should authenticate,
/// 403 when it may not, with the reason as text.
pub fn refusal(why: &AuthError) -> Response {
    let status = if why.is_unauthenticated() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::FORBIDDEN
    };
    let mut response = (status, format!("{why}\n")).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::HeaderValue::from_static("*"),
    );
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"avrs\""),
        );
    }
    response
}

/// The `Authorization` header as text.
pub fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// Body of `POST /api/admin/revoke`: exactly one of the three.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    pub jti: Option<String>,
    pub subject: Option<String>,
    pub serial: Option<String>,
}

/// Largest admin request body read.
pub(crate) const MAX_ADMIN_BODY: usize = 4096;

/// `POST /api/admin/revoke` with `Authorization: Bearer` (role host or
/// operator) and `X-Avrs-Totp`; the body names what to revoke. The list
/// file is rewritten atomically and live sessions recheck at once.
pub async fn revoke(
    State(context): State<Arc<NodeContext>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    use avrs_auth::revocation::RevokedKind;
    let authorizer = &context.authorizer;
    let claims = match admin_action(&context, &headers, client, Operation::AdminRevoke) {
        Ok(claims) => claims,
        Err(why) => return refusal(&why),
    };
    if body.len() > MAX_ADMIN_BODY {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
    }
    let request: RevokeRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return (StatusCode::BAD_REQUEST, format!("bad request: {err}\n")).into_response();
        }
    };
    let target = match (request.jti, request.subject, request.serial) {
        (Some(v), None, None) => (RevokedKind::Jti, v),
        (None, Some(v), None) => (RevokedKind::Sub, v),
        (None, None, Some(v)) => (RevokedKind::Serial, v),
        _ => {
            let why = "name exactly one of \"jti\", \"subject\", \"serial\"\n";
            return (StatusCode::BAD_REQUEST, why).into_response();
        }
    };
    match authorizer.revoke(target.0, &target.1, &claims.sub) {
        Ok(added) => {
            tracing::info!(by = %claims.sub, kind = target.0.word(), value = %target.1, "revoked");
            let body =
                serde_json::json!({ "revoked": target.1, "kind": target.0.word(), "new": added });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(AuthError::Malformed(why)) => {
            (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response()
        }
        Err(why) => {
            tracing::error!(%why, "revocation not saved");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{why}\n")).into_response()
        }
    }
}

/// `GET /api/admin/sessions`: every native session with its figures.
pub async fn sessions(
    State(context): State<Arc<NodeContext>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    monitored(
        &context,
        &headers,
        client,
        || serde_json::json!({ "sessions": context.native_sessions.list() }),
    )
}

/// A read-only admin view: `body` for a [`monitoring`] token, else the
/// refusal.
pub(crate) fn monitored(
    context: &NodeContext,
    headers: &HeaderMap,
    client: SocketAddr,
    body: impl FnOnce() -> serde_json::Value,
) -> Response {
    match monitoring(context, headers, client) {
        Ok(()) => (StatusCode::OK, axum::Json(body())).into_response(),
        Err(why) => refusal(&why),
    }
}

/// Read-only admin views (sessions, policies): a token whose role may see
/// admin status (host or operator), no TOTP code.
pub(crate) fn monitoring(
    context: &NodeContext,
    headers: &HeaderMap,
    client: SocketAddr,
) -> Result<(), AuthError> {
    let Some(token) = bearer(headers) else {
        let why = "a token with role host or operator (Authorization: Bearer)";
        return Err(AuthError::Missing(why.into()));
    };
    let now = avrs_auth::unix_now();
    context
        .authorizer
        .check_token(token, Operation::AdminStatus, "*", client.ip(), now)
        .map(drop)
}

/// Admin changes: a token whose role may do `op`, and a TOTP code.
pub(crate) fn admin_action(
    context: &NodeContext,
    headers: &HeaderMap,
    client: SocketAddr,
    op: Operation,
) -> Result<avrs_auth::Claims, AuthError> {
    let totp = headers.get("x-avrs-totp").and_then(|v| v.to_str().ok());
    let now = avrs_auth::unix_now();
    context
        .authorizer
        .authorize_admin(bearer(headers), totp, op, client.ip(), now)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = authorization(headers)?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}
