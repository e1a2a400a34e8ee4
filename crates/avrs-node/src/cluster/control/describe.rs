//! The JSON of a typed cluster control reply (`POST /api/cluster/control`):
//! the fields of INFO, LIST_RESPONSE, CONTENT_LIST_RESPONSE with what the
//! book says of them, and of ROUTE_FIND_RESPONSE / ROUTE_CHECK_RESPONSE.

use super::Keeper;
use avrs_cluster::control::ClusterBook;
use avrs_proto::avrs::cluster::{
    BalanceResponse, MemberInfo, RouteCheckResponse, RouteFindResponse, RouteState, RouteUpstream,
};
use avrs_proto::avrs::{ClusterRequest, FlowCodec, Flows, Roles};
use avrs_proto::{Guuid, Hash32};
use serde_json::{Value, json};

/// Adds the reply's fields to `body`; the book's replies need the book.
pub(super) fn describe(keeper: Option<&Keeper>, packet: &ClusterRequest, body: &mut Value) {
    match (packet, keeper) {
        (ClusterRequest::RouteFindResponse(found), _) => route_find_json(found, body),
        (ClusterRequest::RouteCheckResponse(checked), _) => route_check_json(checked, body),
        (ClusterRequest::BalanceResponse(chosen), _) => balance_json(chosen, body),
        (_, Some(keeper)) => describe_from_book(keeper, packet, body),
        (_, None) => {}
    }
}

/// `content`, and `candidates` best first: `member`, `cost`, `depth` (the
/// asker's, under that member), `region` (null when unknown).
fn route_find_json(found: &RouteFindResponse, body: &mut Value) {
    let candidates: Vec<Value> = found
        .candidates
        .iter()
        .map(|c| {
            json!({
                "member": c.member.to_hex(),
                "cost": c.cost,
                "depth": c.depth,
                "region": c.region,
            })
        })
        .collect();
    body["content"] = json!(found.content_id.to_string());
    body["candidates"] = Value::Array(candidates);
}

/// `content`, `member`, `state` (`fed`, `not_our_child`, `unavailable`)
/// and `upstream` (null, or `kind` `origin` / `relay` / `detached`, with a
/// relay's `parent` and `depth`).
fn route_check_json(checked: &RouteCheckResponse, body: &mut Value) {
    let state = match checked.state {
        RouteState::Fed => "fed",
        RouteState::NotOurChild => "not_our_child",
        RouteState::Unavailable => "unavailable",
    };
    let upstream = checked.upstream.map(|upstream| match upstream {
        RouteUpstream::Origin => json!({ "kind": "origin" }),
        RouteUpstream::Relay { parent, depth } => {
            json!({ "kind": "relay", "parent": parent.to_hex(), "depth": depth })
        }
        RouteUpstream::Detached => json!({ "kind": "detached" }),
    });
    body["content"] = json!(checked.content_id.to_string());
    body["member"] = json!(checked.member.to_hex());
    body["state"] = json!(state);
    body["upstream"] = upstream.unwrap_or(Value::Null);
}

/// `member` (the server chosen) and its `ip`, `http`, `quic`, `rtmp` ports
/// (0: that listener is off).
fn balance_json(chosen: &BalanceResponse, body: &mut Value) {
    let ip = chosen.service.ip;
    let ip = ip
        .to_ipv4_mapped()
        .map_or(ip.to_string(), |v4| v4.to_string());
    body["member"] = json!(chosen.member.to_hex());
    body["ip"] = json!(ip);
    body["http"] = json!(chosen.service.http);
    body["quic"] = json!(chosen.service.quic);
    body["rtmp"] = json!(chosen.service.rtmp);
}

/// The book's typed reply's fields, with what the book says of them.
fn describe_from_book(keeper: &Keeper, packet: &ClusterRequest, body: &mut Value) {
    keeper.read(|book| match packet {
        ClusterRequest::Info(info) => body["cluster"] = cluster_json(book, info.id),
        ClusterRequest::ListResponse(list) => {
            let clusters: Vec<Value> = list
                .ids
                .iter()
                .map(|id| {
                    let record = book.get(id);
                    json!({
                        "id": id.to_string(),
                        "title": record.and_then(|r| r.options.title.clone()),
                        "deployment": record.is_some_and(|r| r.pinned),
                    })
                })
                .collect();
            body["clusters"] = Value::Array(clusters);
        }
        ClusterRequest::ContentListResponse(list) => {
            let record = book.get(&list.id);
            let contents: Vec<Value> = list
                .contents
                .iter()
                .map(|id| {
                    let content = record.and_then(|r| r.contents.get(id));
                    json!({
                        "id": id.to_string(),
                        "title": content.and_then(|c| c.title.clone()),
                        "flows": content.map(|c| c.flows.to_string()),
                        "codecs": content.map(|c| codec_names(&c.flows, &c.codecs)),
                    })
                })
                .collect();
            body["id"] = json!(list.id.to_string());
            body["contents"] = Value::Array(contents);
        }
        _ => {}
    });
}

fn codec_names(flows: &Flows, codecs: &[FlowCodec]) -> Vec<String> {
    codecs
        .iter()
        .map(|c| {
            let letter = flows.name_of(c.flow_id).unwrap_or('?');
            format!("{letter}={}", c.codec)
        })
        .collect()
}

fn cluster_json(book: &ClusterBook, id: Guuid) -> Value {
    let Some(record) = book.get(&id) else {
        return json!({ "id": id.to_string() });
    };
    let person = |(member, roles, info): (&Hash32, Roles, &MemberInfo)| {
        json!({
            "id": member.to_hex(),
            "roles": roles.to_string(),
            "display_name": info.display_name,
        })
    };
    let members: Vec<Value> = record
        .members
        .iter()
        .map(|(m, r)| person((m, r.roles, &r.info)))
        .collect();
    let requests: Vec<Value> = record
        .requests
        .iter()
        .map(|(m, r)| person((m, r.roles, &r.info)))
        .collect();
    json!({
        "id": id.to_string(),
        "title": record.options.title,
        "setup": record.options.setup.map(|s| s.name()),
        "encrypted": record.options.encrypted.unwrap_or(false),
        "owner": record.owner.to_hex(),
        "deployment": record.pinned,
        "members": members,
        "requests": requests,
        "contents": record.contents.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_replies_are_described_without_a_book() {
        let content = Guuid::new(1, 2);
        let found = ClusterRequest::RouteFindResponse(RouteFindResponse {
            id: None,
            content_id: content,
            candidates: vec![avrs_proto::avrs::cluster::ParentCandidate {
                member: Hash32([1; 32]),
                cost: 120,
                depth: 1,
                region: None,
            }],
        });
        let mut body = json!({});
        describe(None, &found, &mut body);
        assert_eq!(body["content"], content.to_string());
        let first = &body["candidates"][0];
        assert_eq!(first["member"], Hash32([1; 32]).to_hex());
        assert_eq!(
            (first["cost"].as_u64(), first["depth"].as_u64()),
            (Some(120), Some(1))
        );
        assert!(first["region"].is_null());

        let checked = ClusterRequest::RouteCheckResponse(RouteCheckResponse {
            id: None,
            content_id: content,
            member: Hash32([2; 32]),
            state: RouteState::NotOurChild,
            upstream: Some(RouteUpstream::Relay {
                parent: Hash32([3; 32]),
                depth: 2,
            }),
        });
        let mut body = json!({});
        describe(None, &checked, &mut body);
        assert_eq!(body["state"], "not_our_child");
        assert_eq!(body["member"], Hash32([2; 32]).to_hex());
        assert_eq!(body["upstream"]["kind"], "relay");
        assert_eq!(body["upstream"]["parent"], Hash32([3; 32]).to_hex());
        assert_eq!(body["upstream"]["depth"], 2);
    }
}
