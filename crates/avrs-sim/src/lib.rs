//! A deterministic discrete-event simulation of an avrs cluster.
//!
//! Every node runs the real `avrs-cluster` code (foca membership behind the
//! envelope check, relay-tree routing, the balancer) on virtual time;
//! links have latency by region pair, and gossip datagrams are lost at a
//! set rate. Viewers are light structs. A run is a pure function of its
//! [`SimConfig`]: the same seed gives the same [`Report`].

pub mod config;
mod lifecycle;
mod measure;
mod queue;
pub mod report;
mod rng;
mod routing;
mod viewers;
mod world;

pub use config::{AuthKind, SimConfig, latency_us};
pub use measure::DepthStats;
pub use report::{Dist, Report};

/// Runs one scenario.
pub fn run(config: SimConfig) -> Report {
    world::World::new(config).run()
}
