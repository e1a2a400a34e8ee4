//! ROUTE_FIND / ROUTE_CHECK on a node: answered here, before the book and
//! whether or not the node keeps one, from the gossip view and this node's
//! relay trees (`avrs_cluster::control::answer_route_*`). Outside a
//! cluster the node answers for itself alone. Native `'C'` packets and
//! `POST /api/cluster/control` both come here.

use crate::cluster::{Cluster, content_key};
use crate::context::NodeContext;
use avrs_cluster::control::{Actor, Holders, Reply, answer_route_check, answer_route_find};
use avrs_proto::Guuid;
use avrs_proto::avrs::ClusterRequest;

/// The answer to a route request; `None` for any other request.
pub fn answer(context: &NodeContext, actor: &Actor, request: &ClusterRequest) -> Option<Reply> {
    let cluster = context.cluster.get().map(|c| &**c);
    let reply = match (request, cluster) {
        (ClusterRequest::RouteFind(find), Some(cluster)) => cluster.with_view(|view| {
            let max_depth = cluster.config.max_relay_depth;
            answer_route_find(actor, find, Holders::Cluster { view, max_depth })
        }),
        (ClusterRequest::RouteFind(find), None) => {
            let me = context.content_key.id();
            let live = published_here(context, None, find.content_id);
            answer_route_find(actor, find, Holders::Alone { me, live })
        }
        (ClusterRequest::RouteCheck(check), _) => {
            let published = published_here(context, cluster, check.content_id);
            match cluster {
                Some(cluster) => cluster
                    .routes
                    .read(|table| answer_route_check(actor, check, Some(table), published)),
                None => answer_route_check(actor, check, None, published),
            }
        }
        _ => return None,
    };
    Some(reply)
}

/// A publisher streams `content` (by its cluster-wide id) to this node; a
/// relay's copy does not count.
fn published_here(context: &NodeContext, cluster: Option<&Cluster>, content: Guuid) -> bool {
    context.registry.list().iter().any(|live| {
        !live.is_ended()
            && live.is_publishing()
            && content_key(live.name()) == content
            && cluster.is_none_or(|c| c.relays.info(live.name()).is_none())
    })
}
