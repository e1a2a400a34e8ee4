//! Viewers: light structs that ask a balancer, connect, watch, and fail
//! over when their server dies.

use crate::world::{CONTENT, Ev, World, us};
use avrs_cluster::BalanceRequest;
use avrs_proto::Hash32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Idle,
    Asking {
        attempt: u32,
    },
    Connecting {
        server: u32,
    },
    /// Connected; the server is still pulling the content.
    Waiting {
        server: u32,
    },
    Watching {
        server: u32,
    },
}

pub(crate) struct Viewer {
    pub region: u16,
    pub phase: Phase,
    /// Servers that failed this viewer (sent to the balancer as exclusions).
    pub failed: Vec<Hash32>,
    /// Death time of the server being failed over from.
    pub lost_since: Option<u64>,
    pub failovers: u32,
}

impl Viewer {
    pub fn new(region: u16) -> Self {
        Self {
            region,
            phase: Phase::Idle,
            failed: Vec::new(),
            lost_since: None,
            failovers: 0,
        }
    }

    pub fn server(&self) -> Option<u32> {
        match self.phase {
            Phase::Connecting { server }
            | Phase::Waiting { server }
            | Phase::Watching { server } => Some(server),
            _ => None,
        }
    }

    pub fn watching(&self) -> bool {
        matches!(self.phase, Phase::Watching { .. })
    }
}

/// Pause before asking again when no server is free.
const NO_SERVER_RETRY_US: u64 = 500_000;

impl World {
    pub(crate) fn viewer_latency(&self, v: u32, node: u32) -> u64 {
        self.latency(
            self.viewers[v as usize].region,
            self.nodes[node as usize].region,
        )
    }

    /// Balancers a viewer tries in order: its region's, then the host, then
    /// the other regions'.
    fn balancer_for(&self, v: u32, attempt: u32) -> u32 {
        let region = usize::from(self.viewers[v as usize].region);
        let mut order: Vec<u32> = self.balancers[region].clone();
        for (r, list) in self.balancers.iter().enumerate() {
            if r != region {
                order.extend(list.iter().filter(|b| **b != 0));
            }
        }
        order[attempt as usize % order.len()]
    }

    pub(crate) fn viewer_ask(&mut self, v: u32, attempt: u32) {
        self.viewers[v as usize].phase = Phase::Asking { attempt };
        let balancer = self.balancer_for(v, attempt);
        let one_way = self.viewer_latency(v, balancer);
        self.at(
            one_way,
            Ev::BalanceAsk {
                v,
                balancer,
                attempt,
            },
        );
        let wait = 2 * one_way + us(self.cfg.request_timeout);
        self.at(wait, Ev::BalanceTimeout { v, attempt });
    }

    pub(crate) fn balance_ask(&mut self, v: u32, balancer: u32, attempt: u32) {
        let b = &mut self.nodes[balancer as usize];
        if !b.alive {
            return;
        }
        let viewer = &self.viewers[v as usize];
        let request = BalanceRequest {
            client_region: viewer.region,
            content: Some(CONTENT),
            exclude: viewer.failed.clone(),
        };
        let view = b.membership.view();
        let server = b
            .balancer
            .as_mut()
            .and_then(|bal| bal.choose_server(&request, view));
        let one_way = self.viewer_latency(v, balancer);
        self.at(one_way, Ev::BalanceAnswer { v, server, attempt });
    }

    pub(crate) fn balance_answer(&mut self, v: u32, server: Option<Hash32>, attempt: u32) {
        if self.viewers[v as usize].phase != (Phase::Asking { attempt }) {
            return;
        }
        let Some(&s) = server.as_ref().and_then(|k| self.index.get(k)) else {
            self.viewers[v as usize].phase = Phase::Idle;
            self.at(NO_SERVER_RETRY_US, Ev::ViewerArrive { v });
            return;
        };
        self.viewers[v as usize].phase = Phase::Connecting { server: s };
        let one_way = self.viewer_latency(v, s);
        self.at(one_way, Ev::ViewerConnect { v, server: s });
        let wait = 2 * one_way + us(self.cfg.request_timeout);
        self.at(wait, Ev::ConnectTimeout { v, server: s });
    }

    pub(crate) fn balance_timeout(&mut self, v: u32, attempt: u32) {
        if self.viewers[v as usize].phase == (Phase::Asking { attempt }) {
            self.viewer_ask(v, attempt + 1);
        }
    }

    pub(crate) fn viewer_connect(&mut self, v: u32, server: u32) {
        if !self.nodes[server as usize].alive
            || self.viewers[v as usize].phase != (Phase::Connecting { server })
        {
            return;
        }
        self.viewers[v as usize].phase = Phase::Waiting { server };
        let n = &mut self.nodes[server as usize];
        n.viewers += 1;
        if n.routes.is_attached(CONTENT) {
            // Served from the relay's cache of recent groups at once.
            let delay = self.viewer_latency(v, server);
            self.at(delay, Ev::ViewerReady { v, server });
        } else {
            n.waiting.push(v);
            self.ensure_pulling(server);
        }
    }

    pub(crate) fn viewer_ready(&mut self, v: u32, server: u32) {
        let viewer = &mut self.viewers[v as usize];
        if viewer.phase != (Phase::Waiting { server }) || !self.nodes[server as usize].alive {
            return;
        }
        viewer.phase = Phase::Watching { server };
        if let Some(since) = viewer.lost_since.take() {
            self.m.failovers_us.push(self.now - since);
        }
    }

    pub(crate) fn connect_timeout(&mut self, v: u32, server: u32) {
        if self.viewers[v as usize].phase == (Phase::Connecting { server }) {
            let key = self.nodes[server as usize].key;
            self.viewers[v as usize].failed.push(key);
            self.viewer_ask(v, 0);
        }
    }

    pub(crate) fn viewer_stall(&mut self, v: u32, server: u32) {
        let viewer = &mut self.viewers[v as usize];
        if viewer.server() != Some(server) || self.nodes[server as usize].alive {
            return;
        }
        viewer.failed.push(self.nodes[server as usize].key);
        viewer.lost_since = self.m.kill_time;
        viewer.failovers += 1;
        self.viewer_ask(v, 0);
    }
}
