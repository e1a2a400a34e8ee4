//! The simulated world: nodes running the real cluster core, the links
//! between them, and the event loop.

use crate::config::{AuthKind, SimConfig, latency_us};
use crate::queue::EventQueue;
use crate::rng::SimRng;
use crate::viewers::Viewer;
use avrs_cluster::{
    AuthMode, Balancer, GossipAuth, MemberId, Membership, MembershipEvent, NodeState, PeerAddr,
    RouteGrant, RouteTable,
};
use avrs_crypto::{Algorithm, PublicKey, SigningKey};
use avrs_proto::avrs::Roles;
use avrs_proto::{Guuid, Hash32};
use std::collections::BTreeMap;
use std::time::Duration;

/// The one live content of the scenario.
pub const CONTENT: Guuid = Guuid::new(0xA5, 1);

pub(crate) enum Ev {
    Gossip {
        to: u32,
        bytes: Vec<u8>,
    },
    Wake {
        node: u32,
    },
    StateTick {
        node: u32,
    },
    Publish,
    RouteAdd {
        parent: u32,
        child: u32,
    },
    RouteGrant {
        child: u32,
        parent: u32,
        grant: RouteGrant,
    },
    RouteRefuse {
        child: u32,
        parent: u32,
        alternatives: Vec<Hash32>,
    },
    RouteDel {
        to: u32,
        from: u32,
    },
    AttachTimeout {
        node: u32,
        parent: Hash32,
    },
    RetryRoute {
        node: u32,
    },
    ParentStall {
        node: u32,
        parent: Hash32,
    },
    ViewerArrive {
        v: u32,
    },
    BalanceAsk {
        v: u32,
        balancer: u32,
        attempt: u32,
    },
    BalanceAnswer {
        v: u32,
        server: Option<Hash32>,
        attempt: u32,
    },
    BalanceTimeout {
        v: u32,
        attempt: u32,
    },
    ViewerConnect {
        v: u32,
        server: u32,
    },
    ViewerReady {
        v: u32,
        server: u32,
    },
    ConnectTimeout {
        v: u32,
        server: u32,
    },
    ViewerStall {
        v: u32,
        server: u32,
    },
    Kill,
    Sample,
}

/// Relay-side state of a server's pull of the content.
#[derive(Default)]
pub(crate) struct Pull {
    pub pending: Option<Hash32>,
    pub tried: Vec<Hash32>,
    pub alternatives: Vec<Hash32>,
    /// When the current loss of feed began (kill time), for re-route figures.
    pub lost_since: Option<u64>,
    pub retry_scheduled: bool,
}

pub(crate) struct Node {
    pub key: Hash32,
    pub region: u16,
    pub membership: Membership,
    pub routes: RouteTable,
    pub balancer: Option<Balancer>,
    pub alive: bool,
    pub wake_at: Option<u64>,
    pub viewers: u32,
    pub waiting: Vec<u32>,
    pub pull: Pull,
}

pub struct World {
    pub(crate) cfg: SimConfig,
    pub(crate) now: u64,
    pub(crate) queue: EventQueue<Ev>,
    pub(crate) rng: SimRng,
    pub(crate) nodes: Vec<Node>,
    pub(crate) index: BTreeMap<Hash32, u32>,
    pub(crate) viewers: Vec<Viewer>,
    /// Balancer nodes per region, the host first.
    pub(crate) balancers: Vec<Vec<u32>>,
    pub(crate) origin: u32,
    pub(crate) m: crate::measure::Measures,
}

pub(crate) fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn make_auth(
    kind: AuthKind,
    n: usize,
    publics: &[Option<PublicKey>],
    ids: &[Hash32],
) -> GossipAuth {
    let mode = match kind {
        AuthKind::Signed => AuthMode::Signed(
            SigningKey::from_seed(Algorithm::Ed25519, &seed_bytes(n)).expect("32-byte seed"),
        ),
        AuthKind::Trusted => AuthMode::Trusted(ids[n]),
    };
    let mut auth = GossipAuth::new(mode);
    for (public, id) in publics.iter().zip(ids) {
        match public {
            Some(key) => auth.approve(key.clone()),
            None => auth.approve_id(*id),
        }
    }
    auth
}

fn seed_bytes(n: usize) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&(n as u64 + 1).to_le_bytes());
    s[31] = 0xA5;
    s
}

impl World {
    pub fn new(cfg: SimConfig) -> Self {
        let count = cfg.servers + 1;
        let publics: Vec<Option<PublicKey>> = (0..count)
            .map(|n| match cfg.auth {
                AuthKind::Signed => SigningKey::from_seed(Algorithm::Ed25519, &seed_bytes(n))
                    .ok()
                    .map(|k| k.public_key().clone()),
                AuthKind::Trusted => None,
            })
            .collect();
        let ids: Vec<Hash32> = (0..count)
            .map(|n| match &publics[n] {
                Some(k) => k.id(),
                None => avrs_crypto::sha3_256(&seed_bytes(n)),
            })
            .collect();
        let regions = cfg.regions;
        let mut balancers = vec![vec![0u32]; usize::from(regions)];
        let mut nodes = Vec::with_capacity(count);
        let mut index = BTreeMap::new();
        for n in 0..count {
            let region = if n == 0 {
                0
            } else {
                ((n - 1) % usize::from(regions)) as u16
            };
            let mut roles = if n == 0 { Roles::HOST } else { Roles::SERVER };
            if n == 0 || n <= usize::from(regions) {
                roles |= Roles::BALANCER;
                if n > 0 {
                    balancers[usize::from(region)].insert(0, n as u32);
                }
            }
            let mut ip = [0u8; 16];
            ip[..4].copy_from_slice(&(n as u32).to_be_bytes());
            let member = MemberId::new(ids[n], PeerAddr { ip, port: 7777 });
            let state = NodeState::new(ids[n], roles, region);
            let auth = make_auth(cfg.auth, n, &publics, &ids);
            let membership = Membership::new(
                member,
                state,
                cfg.cluster.clone(),
                auth,
                cfg.seed.wrapping_mul(1_000_003).wrapping_add(n as u64),
                count,
            )
            .unwrap_or_else(|e| unreachable!("node setup: {e}"));
            let c = &cfg.cluster;
            nodes.push(Node {
                key: ids[n],
                region,
                membership,
                routes: RouteTable::new(
                    ids[n],
                    c.origin_child_cap,
                    c.relay_child_cap,
                    c.max_relay_depth,
                ),
                balancer: roles.contains(Roles::BALANCER).then(|| {
                    Balancer::new(c.autoscale_threshold_permille, Duration::from_secs(60))
                }),
                alive: true,
                wake_at: None,
                viewers: 0,
                waiting: Vec::new(),
                pull: Pull::default(),
            });
            index.insert(ids[n], n as u32);
        }
        let mut rng = SimRng::new(cfg.seed);
        let viewers = (0..cfg.viewers)
            .map(|_| Viewer::new(rng.below(u64::from(regions)) as u16))
            .collect();
        Self {
            now: 0,
            queue: EventQueue::new(),
            rng,
            nodes,
            index,
            viewers,
            balancers,
            origin: 1,
            m: crate::measure::Measures::default(),
            cfg,
        }
    }

    pub(crate) fn latency(&self, a: u16, b: u16) -> u64 {
        latency_us(a, b, self.cfg.regions)
    }

    pub(crate) fn node_latency(&self, a: u32, b: u32) -> u64 {
        self.latency(self.nodes[a as usize].region, self.nodes[b as usize].region)
    }

    pub(crate) fn at(&mut self, delay: u64, event: Ev) {
        self.queue.push(self.now + delay, event);
    }

    /// Runs the scenario to its end.
    pub fn run(mut self) -> crate::report::Report {
        let host = *self.nodes[0].membership.id();
        for n in 1..self.nodes.len() {
            let _ = self.nodes[n].membership.join(&[host], Duration::ZERO);
            self.after_node(n as u32);
            let tick = us(self.cfg.cluster.heartbeat_interval) + self.rng.below(100_000);
            self.at(tick, Ev::StateTick { node: n as u32 });
        }
        self.after_node(0);
        self.at(1_000_000, Ev::Publish);
        for v in 0..self.viewers.len() as u32 {
            let span = us(self.cfg.viewers_over).max(1);
            let t = us(self.cfg.viewers_from) + self.rng.below(span);
            self.at(t, Ev::ViewerArrive { v });
        }
        self.at(us(self.cfg.kill_at), Ev::Kill);
        self.at(100_000, Ev::Sample);
        let end = us(self.cfg.kill_at) + us(self.cfg.run_after_kill);
        while let Some((at, event)) = self.queue.pop() {
            if at > end {
                break;
            }
            self.now = at;
            self.dispatch(event);
        }
        self.now = end;
        crate::report::Report::build(&self)
    }

    fn dispatch(&mut self, event: Ev) {
        match event {
            Ev::Gossip { to, bytes } => {
                let node = &mut self.nodes[to as usize];
                if node.alive {
                    let now = Duration::from_micros(self.now);
                    let _ = node.membership.handle_datagram(&bytes, now);
                    self.after_node(to);
                }
            }
            Ev::Wake { node } => {
                let n = &mut self.nodes[node as usize];
                if n.alive && n.wake_at == Some(self.now) {
                    n.wake_at = None;
                    n.membership.handle_timeout(Duration::from_micros(self.now));
                    self.after_node(node);
                }
            }
            Ev::StateTick { node } => self.state_tick(node),
            Ev::Publish => {
                let origin = self.origin as usize;
                self.nodes[origin].routes.publish_origin(CONTENT);
                self.publish_state(self.origin);
            }
            Ev::Kill => self.kill(),
            Ev::Sample => self.sample(),
            Ev::ViewerArrive { v } => self.viewer_ask(v, 0),
            Ev::BalanceAsk {
                v,
                balancer,
                attempt,
            } => self.balance_ask(v, balancer, attempt),
            Ev::BalanceAnswer { v, server, attempt } => self.balance_answer(v, server, attempt),
            Ev::BalanceTimeout { v, attempt } => self.balance_timeout(v, attempt),
            Ev::ViewerConnect { v, server } => self.viewer_connect(v, server),
            Ev::ViewerReady { v, server } => self.viewer_ready(v, server),
            Ev::ConnectTimeout { v, server } => self.connect_timeout(v, server),
            Ev::ViewerStall { v, server } => self.viewer_stall(v, server),
            Ev::RouteAdd { parent, child } => self.route_add(parent, child),
            Ev::RouteGrant {
                child,
                parent,
                grant,
            } => self.route_grant(child, parent, grant),
            Ev::RouteRefuse {
                child,
                parent,
                alternatives,
            } => self.route_refuse(child, parent, alternatives),
            Ev::RouteDel { to, from } => self.route_del(to, from),
            Ev::AttachTimeout { node, parent } => self.attach_timeout(node, parent),
            Ev::RetryRoute { node } => {
                self.nodes[node as usize].pull.retry_scheduled = false;
                self.try_attach(node);
            }
            Ev::ParentStall { node, parent } => self.parent_stall(node, parent),
        }
    }

    /// Sends what the node's membership produced, handles its events and
    /// schedules its next timer.
    pub(crate) fn after_node(&mut self, node: u32) {
        let n = node as usize;
        let mut lost = Vec::new();
        while let Some(t) = self.nodes[n].membership.poll_transmit() {
            self.m.gossip_datagrams += 1;
            self.m.gossip_bytes += t.datagram.len() as u64;
            let Some(&to) = self.index.get(&t.to.key) else {
                continue;
            };
            if self.rng.chance(self.cfg.loss_permille) {
                self.m.gossip_dropped += 1;
                continue;
            }
            let delay = self.node_latency(node, to);
            self.at(
                delay,
                Ev::Gossip {
                    to,
                    bytes: t.datagram,
                },
            );
        }
        while let Some(event) = self.nodes[n].membership.poll_event() {
            if let MembershipEvent::MemberDown(id) = event {
                lost.push(id.key);
            }
        }
        for key in lost {
            let orphaned = self.nodes[n].routes.member_down(key);
            for (_, children) in orphaned {
                self.feed_lost(node, children);
            }
        }
        if let Some(t) = self.nodes[n].membership.poll_timeout() {
            // Round up: a timer due at 1.5 µs is not due at 1 µs.
            let t = u64::try_from(t.as_nanos().div_ceil(1000))
                .unwrap_or(u64::MAX)
                .max(self.now);
            if self.nodes[n].wake_at.is_none_or(|w| t < w) {
                self.nodes[n].wake_at = Some(t);
                self.queue.push(t, Ev::Wake { node });
            }
        }
    }
}
