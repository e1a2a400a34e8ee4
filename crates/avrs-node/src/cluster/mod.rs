//! The node's cluster driver: UDP gossip around the sans-IO
//! [`avrs_cluster::Membership`], admission by the host, relays that pull a
//! content this node lacks from a member that has it, and the balancer's
//! answers. `docs/operations.md` ("Running a cluster") is the user's view.
//!
//! - [`wire`]: JOIN and ROSTER datagrams beside foca's.
//! - [`roster`]: the host's approvals (members file, `avrs cluster approve`).
//! - `admission`: a JOIN admitted by a member certificate the host signed.
//! - [`autoscale`]: the balancer's auto-scaling command and webhook.
//! - `driver`: the socket and timer loop.
//! - `advert`: this node's gossiped state (load, addresses, contents).
//! - [`relay`] / [`locate`]: pulling a content once for all local viewers.
//! - [`routes`]: ROUTE_ADD / ROUTE_DEL, this node's place in relay trees.
//! - [`api`]: HTTP: members, approve, balance, the balancer's redirects.
//! - [`control`]: cluster control (`'C'`, `POST /api/cluster/control`) on
//!   the book of clusters a host or operator keeps.

mod admission;
mod advert;
pub mod api;
pub mod autoscale;
pub mod control;
mod driver;
pub mod locate;
pub mod relay;
pub mod roles;
pub mod roster;
pub mod routes;
pub mod wire;

use crate::context::NodeContext;
use avrs_cluster::{
    BalanceRequest, Balancer, ClusterConfig, ClusterView, GossipStats, ServiceAddrs,
};
use avrs_crypto::SigningKey;
use avrs_proto::avrs::Roles;
use avrs_proto::{Guuid, Hash32};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How this node takes part in a cluster (`[cluster]` and `[avrs]` keys).
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub roles: Roles,
    pub region: u16,
    /// `cluster_id` as text: members of other clusters are refused.
    pub cluster_name: String,
    /// UDP address of the gossip socket.
    pub gossip_address: SocketAddr,
    /// The host's gossip address; `None` on the host itself.
    pub host_gossip: Option<SocketAddr>,
    /// The host's member id; `None`: believe the first roster from
    /// `host_gossip` (trust on first use).
    pub host_id: Option<Hash32>,
    /// Host: ids approved ahead of time, one hex id per line.
    pub members_file: Option<PathBuf>,
    /// Host: where approvals persist (`DATA_DIR/cluster`).
    pub state_dir: Option<PathBuf>,
    /// Host or operator: the cluster book (`DATA_DIR/cluster-book.json`);
    /// `None` keeps it in memory only.
    pub book_file: Option<PathBuf>,
    pub heartbeat_interval: Duration,
    pub reconnect_timeout: Duration,
    /// The IP other members and clients reach this node at; default: the
    /// gossip socket's, or loopback when that is a wildcard.
    pub advertise_ip: Option<IpAddr>,
    /// This node's member certificate (binary form), sent with its JOIN so
    /// a host that signed it admits the node without an operator.
    pub certificate: Option<Vec<u8>>,
    /// Balancer: when the cluster is busy, and what to run then.
    pub autoscale: autoscale::AutoscaleOptions,
    /// Relays an origin feeds at most (`origin_child_cap`), and a relay
    /// (`relay_child_cap`); ROUTE_ADD past them is refused.
    pub origin_child_cap: u16,
    pub relay_child_cap: u16,
}

impl ClusterOptions {
    /// A cluster of nodes on loopback (tests).
    pub fn loopback(roles: Roles, host_gossip: Option<SocketAddr>) -> Self {
        Self {
            roles,
            region: 0,
            cluster_name: "local".into(),
            gossip_address: SocketAddr::from(([127, 0, 0, 1], 0)),
            host_gossip,
            host_id: None,
            members_file: None,
            state_dir: None,
            book_file: None,
            heartbeat_interval: Duration::from_millis(200),
            reconnect_timeout: Duration::from_secs(10),
            advertise_ip: None,
            certificate: None,
            autoscale: autoscale::AutoscaleOptions::default(),
            origin_child_cap: ClusterConfig::default().origin_child_cap,
            relay_child_cap: ClusterConfig::default().relay_child_cap,
        }
    }
}

/// What the rest of the node sees of the cluster.
#[derive(Debug)]
pub struct Cluster {
    pub me: Hash32,
    pub roles: Roles,
    pub region: u16,
    pub gossip_address: SocketAddr,
    pub config: ClusterConfig,
    view: Mutex<ClusterView>,
    balancer: Mutex<Balancer>,
    stats: Mutex<GossipStats>,
    pub(crate) approvals: Mutex<roster::Approvals>,
    /// The host's member id, once known (this node's on the host).
    pub(crate) host: Mutex<Option<Hash32>>,
    /// The cluster book, on a host or an operator.
    pub(crate) keeper: Option<control::Keeper>,
    pub(crate) relays: relay::Relays,
    /// This node's relay trees (ROUTE_ADD grants, ROUTE_DEL).
    pub routes: Arc<routes::Routes>,
    /// The member key: relays open their sessions with it, so a parent
    /// knows which member asks.
    pub(crate) key: Arc<SigningKey>,
    pub(crate) shutdown: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Cluster {
    /// A copy of the current view (members, liveness, states).
    pub fn view(&self) -> ClusterView {
        lock(&self.view).clone()
    }

    /// A read of the current view, without copying it.
    pub fn with_view<T>(&self, read: impl FnOnce(&ClusterView) -> T) -> T {
        read(&lock(&self.view))
    }

    pub fn stats(&self) -> GossipStats {
        *lock(&self.stats)
    }

    pub fn is_host(&self) -> bool {
        self.roles.contains(Roles::HOST)
    }

    /// BALANCE_REQUEST: the best live server for `content`, skipping
    /// `exclude` (servers a client could not use), with its addresses.
    pub fn choose_server(
        &self,
        content: Option<&str>,
        exclude: Vec<Hash32>,
    ) -> Option<(Hash32, ServiceAddrs)> {
        self.choose_server_for(content.map(content_key), exclude)
    }

    /// [`Self::choose_server`] by the content's cluster-wide id
    /// ([`content_key`] of its name), as a native BALANCE_REQUEST names it.
    pub fn choose_server_for(
        &self,
        content: Option<Guuid>,
        exclude: Vec<Hash32>,
    ) -> Option<(Hash32, ServiceAddrs)> {
        let request = BalanceRequest {
            client_region: self.region,
            content,
            exclude,
        };
        let view = lock(&self.view);
        let chosen = lock(&self.balancer).choose_server(&request, &view)?;
        let service = view.get(&chosen)?.state.as_ref()?.service;
        Some((chosen, service))
    }

    /// Where players reach the origin of a content relayed here (for the
    /// key of an ENCRYPTED content, which relays never hold).
    pub fn origin_quic_address(&self, content: Guuid) -> Option<SocketAddr> {
        let origin = self.routes.origin_of(content)?;
        let view = lock(&self.view);
        let service = view.get(&origin)?.state.as_ref()?.service;
        service.socket(service.quic)
    }

    pub(crate) fn set_view(&self, view: ClusterView, stats: GossipStats) {
        *lock(&self.view) = view;
        *lock(&self.stats) = stats;
    }
}

/// The id a content name has in gossip: the first 16 bytes of SHA3-256 of
/// the name, so every node finds a content by name without a directory.
pub fn content_key(name: &str) -> Guuid {
    let hash = avrs_crypto::sha3_256(name.as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&hash.0[..16]);
    Guuid::from_bytes(id)
}

/// Binds the gossip socket, starts the driver, and puts the cluster in
/// `context`. `service` holds the node's bound listener ports.
pub async fn start(
    context: Arc<NodeContext>,
    options: ClusterOptions,
    key: Arc<SigningKey>,
    service: SocketAddrs,
    shutdown: CancellationToken,
) -> anyhow::Result<(Arc<Cluster>, tokio::task::JoinHandle<()>)> {
    driver::start(context, options, key, service, shutdown).await
}

/// The node's bound listeners, as the cluster advertises them.
#[derive(Debug, Clone, Copy)]
pub struct SocketAddrs {
    pub http: SocketAddr,
    pub quic: SocketAddr,
    pub rtmp: SocketAddr,
    pub max_connections: u32,
}
