//! BALANCE_REQUEST on a node: the best server of the cluster for a content,
//! by load and region, skipping the servers the client could not use.
//! Native sessions (`'C'` BALANCE_REQUEST, which players send) and
//! `POST /api/cluster/control` (`avrs cluster balance`) both come here.

use crate::cluster::Cluster;
use avrs_cluster::control::Reply;
use avrs_proto::avrs::cluster::{BalanceRequest, BalanceResponse, ServiceAddr};
use avrs_proto::avrs::{ClusterRequest, RetCode, RetCodePacket};

/// The reply's text when no live server can take the client.
pub const NO_SERVER_AVAILABLE: &str = "NO_SERVER_AVAILABLE";

/// The BALANCE_RESPONSE for `request` (its ID echoed), or
/// MEMBER_NOT_FOUND `NO_SERVER_AVAILABLE`.
pub fn choose(
    cluster: &Cluster,
    request: &BalanceRequest,
) -> Result<BalanceResponse, RetCodePacket> {
    let chosen = cluster.choose_server_for(request.content_id, request.exclude.clone());
    let (member, service) = chosen
        .ok_or_else(|| RetCodePacket::with_text(RetCode::MemberNotFound, NO_SERVER_AVAILABLE))?;
    Ok(BalanceResponse {
        id: request.id,
        member,
        service: ServiceAddr {
            ip: std::net::Ipv6Addr::from(service.ip),
            http: service.http,
            quic: service.quic,
            rtmp: service.rtmp,
        },
    })
}

/// The answer to a BALANCE_REQUEST; `None` for any other request, and
/// outside a cluster (the caller says NOT_IN_A_CLUSTER).
pub fn answer(cluster: Option<&Cluster>, request: &ClusterRequest) -> Option<Reply> {
    let (ClusterRequest::BalanceRequest(request), Some(cluster)) = (request, cluster) else {
        return None;
    };
    Some(match choose(cluster, request) {
        Ok(response) => Reply::Packet(Box::new(ClusterRequest::BalanceResponse(response))),
        Err(refusal) => Reply::Code(refusal),
    })
}
