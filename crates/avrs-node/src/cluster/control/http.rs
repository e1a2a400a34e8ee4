//! `POST /api/cluster/control`: cluster control as JSON, for `avrs cluster
//! …`. The body names the operation and its arguments; the same typed
//! request a native session would send is built from it (and checked as
//! the wire checks it), then answered by the same core.
//!
//! Credentials as the other admin actions: `Authorization: Bearer TOKEN`
//! whose role the RBAC table allows the operation, and for a change an
//! `X-Avrs-Totp` code; `info`, `list`, `content_list`, `route_find`,
//! `route_check` and `balance` need the token only (for content `*`). The actor is the
//! token's subject: its id is the subject when that is 64 hex digits, else
//! SHA3-256 of it. `route_find` / `route_check` are answered by any node,
//! in a cluster or not ([`super::route`]); `balance` by any node of a
//! cluster from its view ([`super::balance`]); the rest need a cluster
//! keeper's book.

use super::describe::describe;
use crate::context::NodeContext;
use avrs_auth::{AuditEvent, AuthError, Operation, TokenRole};
use avrs_cluster::control::{Actor, Reply};
use avrs_proto::avrs::cluster::{
    BalanceRequest, Change, ClusterOptions, ContentAdd, ContentDel, ContentListRequest,
    ContentUpdate, Create, Destroy, Info, ListRequest, MemberApprove, MemberInfo, MemberRemove,
    MemberRequestAdd, MemberRequestDel, RoleAssign, RouteCheck, RouteFind, Setup,
};
use avrs_proto::avrs::{ClusterRequest, FlowCodec, Flows, RetCode, Roles, SubType, retcode_for};
use avrs_proto::{Guuid, Hash32};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest body read (codecs are the only long arguments).
const MAX_BODY: usize = 64 * 1024;

/// The body: `op` and the arguments it takes.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlBody {
    pub op: String,
    pub id: Option<String>,
    pub member: Option<String>,
    pub content_id: Option<String>,
    pub title: Option<String>,
    pub setup: Option<String>,
    pub encrypted: Option<bool>,
    pub roles: Option<String>,
    /// MEMBER_REQUEST_ADD: `display_name`, `name`, `second_name`,
    /// `surname`, `patronim`, `status`, `title`.
    #[serde(default)]
    pub info: BTreeMap<String, String>,
    pub flows: Option<String>,
    /// `FLOW=CODEC`, the flow by its letter: `v=avc1.64001F` (by its
    /// number, `1=mp4a.40.2`, in a `content_update` without `flows`).
    #[serde(default)]
    pub codecs: Vec<String>,
    /// ROUTE_FIND: how many candidates at most (1–16).
    pub limit: Option<u8>,
    /// ROUTE_FIND: members (64 hex digits) not to name, at most 16.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// A body the node cannot make a request of: 400 with the reason.
#[derive(Debug)]
struct BadBody(String);

fn bad(why: impl Into<String>) -> BadBody {
    BadBody(why.into())
}

/// The operation of `op`, and whether it only reads.
fn operation(op: &str) -> Option<(Operation, bool)> {
    use Operation as O;
    Some(match op {
        "create" => (O::ClusterCreate, false),
        "destroy" => (O::ClusterDestroy, false),
        "change" => (O::ClusterChange, false),
        "info" => (O::ClusterInfo, true),
        "list" => (O::ClusterList, true),
        "request_add" => (O::MemberRequestAdd, false),
        "request_del" => (O::MemberRequestDel, false),
        "approve" => (O::MemberRequestApprove, false),
        "remove" => (O::MemberRemove, false),
        "role_assign" => (O::MemberRoleAssign, false),
        "content_add" => (O::ClusterContentAdd, false),
        "content_update" => (O::ClusterContentUpdate, false),
        "content_del" => (O::ClusterContentDel, false),
        "content_list" => (O::ClusterContentList, true),
        "route_find" => (O::RouteFind, true),
        "route_check" => (O::RouteCheck, true),
        "balance" => (O::BalanceRequest, true),
        _ => return None,
    })
}

/// The typed request the body stands for, checked as the wire would.
fn request_of(body: ControlBody) -> Result<ClusterRequest, BadBody> {
    let request = build(body)?;
    request.to_packet().map_err(|err| {
        bad(format!(
            "{} {err}",
            retcode_for(&err, SubType::Cluster).name()
        ))
    })?;
    Ok(request)
}

fn build(body: ControlBody) -> Result<ClusterRequest, BadBody> {
    use ClusterRequest as R;
    let id = || cluster_id(body.id.as_deref());
    let member = || member_id(body.member.as_deref());
    let content = || content_id(body.content_id.as_deref());
    let options = || -> Result<ClusterOptions, BadBody> {
        Ok(ClusterOptions {
            title: body.title.clone(),
            setup: body.setup.as_deref().map(setup).transpose()?,
            encrypted: body.encrypted,
        })
    };
    Ok(match body.op.as_str() {
        "create" => R::Create(Create {
            id: optional_id(body.id.as_deref())?,
            options: options()?,
        }),
        "destroy" => R::Destroy(Destroy { id: id()? }),
        "change" => R::Change(Change {
            id: id()?,
            options: options()?,
        }),
        "info" => R::Info(Info {
            id: id()?,
            options: ClusterOptions::default(),
        }),
        "list" => R::ListRequest(ListRequest),
        "request_add" => R::MemberRequestAdd(MemberRequestAdd {
            id: id()?,
            addr: None,
            role: body.roles.as_deref().map(roles).transpose()?,
            info: member_info(&body.info)?,
        }),
        "request_del" => R::MemberRequestDel(MemberRequestDel { id: id()? }),
        "approve" => R::MemberApprove(MemberApprove {
            id: id()?,
            member: member()?,
        }),
        "remove" => R::MemberRemove(MemberRemove {
            id: id()?,
            member: member()?,
        }),
        "role_assign" => R::RoleAssign(RoleAssign {
            id: id()?,
            member: member()?,
            role: roles(body.roles.as_deref().ok_or_else(|| bad("give \"roles\""))?)?,
        }),
        "content_add" => {
            let flows = body
                .flows
                .as_deref()
                .ok_or_else(|| bad("give \"flows\", such as \"va\""))?;
            let flows = Flows::new(flows).map_err(|e| bad(format!("flows: {e}")))?;
            let codecs = codecs(&flows, &body.codecs)?;
            R::ContentAdd(ContentAdd {
                id: id()?,
                content_id: content()?,
                title: body.title.clone(),
                flows,
                codecs,
            })
        }
        "content_update" => {
            let flows = body.flows.as_deref().map(Flows::new).transpose();
            let flows = flows.map_err(|e| bad(format!("flows: {e}")))?;
            // With new flows, codecs name them by letter; without, the
            // flows are the node's, so a codec names its flow by number.
            let codecs = match &flows {
                Some(flows) => codecs(flows, &body.codecs)?,
                None => numbered_codecs(&body.codecs)?,
            };
            R::ContentUpdate(ContentUpdate {
                id: id()?,
                content_id: content()?,
                title: body.title.clone(),
                flows,
                codecs,
            })
        }
        "content_del" => R::ContentDel(ContentDel {
            id: id()?,
            content_id: content()?,
        }),
        "content_list" => R::ContentListRequest(ContentListRequest { id: id()? }),
        "route_find" => R::RouteFind(RouteFind {
            id: optional_id(body.id.as_deref())?,
            content_id: content()?,
            limit: body.limit,
            exclude: body
                .exclude
                .iter()
                .map(|m| member_id(Some(m)))
                .collect::<Result<_, _>>()?,
        }),
        "route_check" => R::RouteCheck(RouteCheck {
            id: optional_id(body.id.as_deref())?,
            content_id: content()?,
            member: member()?,
        }),
        "balance" => R::BalanceRequest(BalanceRequest {
            id: optional_id(body.id.as_deref())?,
            content_id: body
                .content_id
                .as_deref()
                .map(|c| content_id(Some(c)))
                .transpose()?,
            exclude: body
                .exclude
                .iter()
                .map(|m| member_id(Some(m)))
                .collect::<Result<_, _>>()?,
        }),
        other => return Err(bad(format!("unknown op {other:?}"))),
    })
}

fn cluster_id(text: Option<&str>) -> Result<Guuid, BadBody> {
    let text = text.ok_or_else(|| bad("give the cluster \"id\""))?;
    text.trim().parse().map_err(|_| {
        bad(format!(
            "cluster id {text:?}: expected 16 hex digits, '-', 16 hex digits"
        ))
    })
}

fn optional_id(text: Option<&str>) -> Result<Option<Guuid>, BadBody> {
    text.map(|t| cluster_id(Some(t))).transpose()
}

fn member_id(text: Option<&str>) -> Result<Hash32, BadBody> {
    let text = text.ok_or_else(|| bad("give the \"member\" id"))?;
    Hash32::from_hex(text.trim())
        .map_err(|_| bad(format!("member {text:?}: expected 64 hex digits")))
}

/// A content id: a GUUID, or a content name (`live/cam`) standing for its
/// cluster-wide id, as BALANCE_REQUEST names contents.
fn content_id(text: Option<&str>) -> Result<Guuid, BadBody> {
    let text = text.ok_or_else(|| bad("give the \"content_id\""))?.trim();
    if let Ok(id) = text.parse() {
        return Ok(id);
    }
    if text.is_empty() || text.len() > 255 || text.chars().any(char::is_control) {
        return Err(bad(format!("content {text:?}: a GUUID or a content name")));
    }
    Ok(crate::cluster::content_key(text))
}

fn setup(text: &str) -> Result<Setup, BadBody> {
    let name = text.trim().replace('-', "_");
    let name = match name.to_ascii_lowercase().as_str() {
        "panel" => "panel_discussion".to_owned(),
        other => other.to_owned(),
    };
    Setup::from_name(&name).ok_or_else(|| {
        bad(format!(
            "setup {text:?}: round-table, lecture, panel or meeting"
        ))
    })
}

fn roles(text: &str) -> Result<Roles, BadBody> {
    Roles::parse(text).map_err(|e| bad(format!("roles: {e}")))
}

fn member_info(fields: &BTreeMap<String, String>) -> Result<MemberInfo, BadBody> {
    let mut info = MemberInfo::default();
    for (field, text) in fields {
        let slot = avrs_cluster::control::info_slot(&mut info, field)
            .ok_or_else(|| bad(format!("unknown info field {field:?}")))?;
        *slot = Some(text.clone());
    }
    Ok(info)
}

/// `v=avc1.64001F`: the flow by its letter in `flows`.
fn codecs(flows: &Flows, list: &[String]) -> Result<Vec<FlowCodec>, BadBody> {
    list.iter()
        .map(|item| {
            let (flow, codec) = item.split_once('=').ok_or_else(|| {
                bad(format!(
                    "codec {item:?}: expected FLOW=CODEC, such as v=avc1.64001F"
                ))
            })?;
            let mut letters = flow.chars();
            let flow_id = match (letters.next(), letters.next()) {
                (Some(letter), None) => flows.id_of(letter),
                _ => None,
            };
            let flow_id = flow_id
                .ok_or_else(|| bad(format!("codec {item:?}: no flow {flow:?} in {flows}")))?;
            Ok(FlowCodec::new(flow_id, codec))
        })
        .collect()
}

/// `0=mp4a.40.2`: the flow by its number (no flows string to look in).
fn numbered_codecs(list: &[String]) -> Result<Vec<FlowCodec>, BadBody> {
    list.iter()
        .map(|item| {
            let flow_id = item
                .split_once('=')
                .and_then(|(flow, codec)| Some((flow.trim().parse::<u8>().ok()?, codec)));
            let (flow_id, codec) = flow_id.ok_or_else(|| {
                bad(format!(
                    "codec {item:?}: without flows, give FLOW_NUMBER=CODEC, such as 1=mp4a.40.2"
                ))
            })?;
            Ok(FlowCodec::new(flow_id, codec))
        })
        .collect()
}

/// The actor id of a token subject.
pub fn subject_id(subject: &str) -> Hash32 {
    Hash32::from_hex(subject).unwrap_or_else(|_| avrs_crypto::sha3_256(subject.as_bytes()))
}

/// The JSON answer and its status.
fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn refused(code: RetCode, text: &str, status: StatusCode) -> Response {
    answer(status, json!({ "code": code.name(), "text": text }))
}

fn not_in_a_cluster() -> Response {
    refused(
        RetCode::ClusterNotFound,
        "NOT_IN_A_CLUSTER",
        StatusCode::NOT_FOUND,
    )
}

/// The HTTP status of a return code.
fn status_of(code: RetCode) -> StatusCode {
    match code {
        RetCode::Success => StatusCode::OK,
        RetCode::MemberSecurityIssue
        | RetCode::SignAlien
        | RetCode::SignIncorrect
        | RetCode::SignNotPresent => StatusCode::FORBIDDEN,
        RetCode::ClusterNotFound | RetCode::MemberNotFound | RetCode::ContentNotFound => {
            StatusCode::NOT_FOUND
        }
        RetCode::ClusterWrongRequest => StatusCode::CONFLICT,
        RetCode::ContentUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        RetCode::Error => StatusCode::INSUFFICIENT_STORAGE,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn auth_refusal(why: &AuthError) -> Response {
    let status = match why.is_unauthenticated() {
        true => StatusCode::UNAUTHORIZED,
        false => StatusCode::FORBIDDEN,
    };
    refused(why.retcode(), &why.to_string(), status)
}

/// The token's subject and role: token only for reads, token and TOTP for
/// changes, the role allowed `op` by the table either way.
fn credentials(
    context: &NodeContext,
    headers: &HeaderMap,
    client: SocketAddr,
    op: Operation,
    read_only: bool,
) -> Result<(String, TokenRole), AuthError> {
    if !read_only {
        let claims = crate::auth::admin_action(context, headers, client, op)?;
        return Ok((claims.sub, claims.role));
    }
    let token = crate::auth::authorization(headers)
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| AuthError::Missing("a token (Authorization: Bearer)".into()))?;
    let now = avrs_auth::unix_now();
    let grant = context
        .authorizer
        .check_token(token, op, "*", client.ip(), now)?;
    let role = grant
        .role
        .ok_or_else(|| AuthError::Missing("a token with a role".into()))?;
    Ok((grant.subject, role))
}

/// `POST /api/cluster/control`.
pub async fn control(
    State(context): State<Arc<NodeContext>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if body.len() > MAX_BODY {
        return refused(
            RetCode::ArgIncorrect,
            "BODY_TOO_LARGE",
            StatusCode::PAYLOAD_TOO_LARGE,
        );
    }
    let body: ControlBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(err) => {
            return refused(
                RetCode::ArgIncorrect,
                &err.to_string(),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let Some((op, read_only)) = operation(&body.op) else {
        let why = format!("unknown op {:?}", body.op);
        return refused(RetCode::ArgIncorrect, &why, StatusCode::BAD_REQUEST);
    };
    let cluster = context.cluster.get();
    let about_routes = matches!(op, Operation::RouteFind | Operation::RouteCheck);
    if cluster.is_none() && !about_routes {
        return not_in_a_cluster();
    }
    let (subject, role) = match credentials(&context, &headers, client, op, read_only) {
        Ok(found) => found,
        Err(why) => return auth_refusal(&why),
    };
    let request = match request_of(body) {
        Ok(request) => request,
        Err(BadBody(why)) => return refused(RetCode::ArgIncorrect, &why, StatusCode::BAD_REQUEST),
    };
    let actor = Actor {
        id: subject_id(&subject),
        roles: super::token_roles(role),
    };
    let kind = request.kind();
    let Some(reply) = super::answer(&context, actor, request) else {
        return not_in_a_cluster();
    };
    let (code, text) = match &reply {
        Reply::Code(packet) => (packet.code, packet.text.clone()),
        Reply::Packet(packet) => (RetCode::Success, packet.kind().name().to_owned()),
    };
    context.authorizer.audit(AuditEvent {
        event: "cluster_control",
        subject: Some(subject),
        peer: Some(client.to_string()),
        action: Some(kind.name().to_owned()),
        result: if code == RetCode::Success {
            "allow"
        } else {
            "deny"
        },
        reason: Some(format!("{} {text}", code.name())),
        ..AuditEvent::default()
    });
    let mut body = json!({ "code": code.name(), "text": text, "actor": actor.id.to_hex() });
    if let Reply::Packet(packet) = &reply {
        let keeper = cluster.and_then(|c| c.keeper.as_ref());
        describe(keeper, packet, &mut body);
    }
    answer(status_of(code), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> ControlBody {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn bodies_become_checked_requests() {
        let id = "0000000000000001-0000000000000002";
        let add = request_of(body(&format!(
            r#"{{"op":"content_add","id":"{id}","content_id":"live/cam","flows":"va","codecs":["v=avc1.64001F","a=mp4a.40.2"]}}"#
        )))
        .unwrap();
        let ClusterRequest::ContentAdd(add) = add else {
            panic!("{add:?}");
        };
        assert_eq!(add.content_id, crate::cluster::content_key("live/cam"));
        assert_eq!(add.codecs[1], FlowCodec::new(1, "mp4a.40.2"));
        let update = request_of(body(&format!(
            r#"{{"op":"content_update","id":"{id}","content_id":"live/cam","codecs":["1=mp4a.40.2"]}}"#
        )))
        .unwrap();
        assert!(
            matches!(update, ClusterRequest::ContentUpdate(ref u) if u.codecs == [FlowCodec::new(1, "mp4a.40.2")])
        );
        let create =
            request_of(body(r#"{"op":"create","title":"T","setup":"round-table"}"#)).unwrap();
        assert!(matches!(
            create,
            ClusterRequest::Create(Create {
                id: None,
                options: ClusterOptions {
                    setup: Some(Setup::RoundTable),
                    ..
                }
            })
        ));
        let member = "ab".repeat(32);
        let find = request_of(body(&format!(
            r#"{{"op":"route_find","content_id":"live/cam","limit":2,"exclude":["{member}"]}}"#
        )))
        .unwrap();
        assert_eq!(
            find,
            ClusterRequest::RouteFind(RouteFind {
                id: None,
                content_id: crate::cluster::content_key("live/cam"),
                limit: Some(2),
                exclude: vec![Hash32([0xAB; 32])],
            })
        );
        let check = request_of(body(&format!(
            r#"{{"op":"route_check","id":"{id}","content_id":"live/cam","member":"{member}"}}"#
        )))
        .unwrap();
        assert!(
            matches!(check, ClusterRequest::RouteCheck(ref c) if c.member == Hash32([0xAB; 32]) && c.id.is_some())
        );
        let balance = request_of(body(&format!(
            r#"{{"op":"balance","content_id":"live/cam","exclude":["{member}"]}}"#
        )))
        .unwrap();
        assert_eq!(
            balance,
            ClusterRequest::BalanceRequest(BalanceRequest {
                id: None,
                content_id: Some(crate::cluster::content_key("live/cam")),
                exclude: vec![Hash32([0xAB; 32])],
            })
        );
        let any = request_of(body(r#"{"op":"balance"}"#)).unwrap();
        assert_eq!(
            any,
            ClusterRequest::BalanceRequest(BalanceRequest::default())
        );
        let too_many = vec![format!("\"{member}\""); 17].join(",");
        for wrong in [
            r#"{"op":"route_find"}"#.to_owned(),
            r#"{"op":"route_find","content_id":"a","limit":0}"#.to_owned(),
            r#"{"op":"route_find","content_id":"a","limit":17}"#.to_owned(),
            r#"{"op":"route_find","content_id":"a","exclude":["x"]}"#.to_owned(),
            format!(r#"{{"op":"route_find","content_id":"a","exclude":[{too_many}]}}"#),
            r#"{"op":"route_check","content_id":"a"}"#.to_owned(),
            r#"{"op":"balance","exclude":["x"]}"#.to_owned(),
            format!(r#"{{"op":"balance","exclude":[{too_many}]}}"#),
            r#"{"op":"destroy"}"#.to_owned(),
            r#"{"op":"approve","id":"x","member":"y"}"#.to_owned(),
            format!(r#"{{"op":"change","id":"{id}"}}"#),
            format!(
                r#"{{"op":"content_add","id":"{id}","content_id":"a","flows":"va","codecs":["x=h264"]}}"#
            ),
            format!(r#"{{"op":"create","title":"{}"}}"#, "t".repeat(256)),
            format!(r#"{{"op":"request_add","id":"{id}","info":{{"age":"3"}}}}"#),
            format!(
                r#"{{"op":"role_assign","id":"{id}","member":"{}","roles":"king"}}"#,
                "a".repeat(64)
            ),
            r#"{"op":"create","setup":"opera"}"#.to_owned(),
            r#"{"op":"fly"}"#.to_owned(),
            format!(r#"{{"op":"content_update","id":"{id}","content_id":"a"}}"#),
            format!(r#"{{"op":"content_update","id":"{id}","content_id":"a","codecs":["v=x"]}}"#),
        ] {
            assert!(request_of(body(&wrong)).is_err(), "{wrong}");
        }
    }

    #[test]
    fn statuses_follow_the_code() {
        assert_eq!(status_of(RetCode::Success), StatusCode::OK);
        assert_eq!(
            status_of(RetCode::MemberSecurityIssue),
            StatusCode::FORBIDDEN
        );
        assert_eq!(status_of(RetCode::ClusterNotFound), StatusCode::NOT_FOUND);
        assert_eq!(status_of(RetCode::ArgIncorrect), StatusCode::BAD_REQUEST);
        assert_eq!(
            status_of(RetCode::ClusterWrongRequest),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status_of(RetCode::ContentUnavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(subject_id(&"ab".repeat(32)), Hash32([0xAB; 32]));
        assert_eq!(subject_id("alice"), avrs_crypto::sha3_256(b"alice"));
    }
}
