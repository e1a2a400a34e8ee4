//! The sans-IO cluster core of avrs: no sockets, no runtime, time given as
//! a value, so real nodes and the deterministic simulation run the same code.
//!
//! - [`Membership`]: SWIM membership through `foca`, with our [`MemberId`],
//!   codec and gossiped [`NodeState`] (roles, region, load, contents);
//!   every datagram sealed and checked by [`GossipAuth`].
//! - [`route_find`] / [`plan_route`] and [`RouteTable`]: relay trees
//!   (ROUTE_FIND, ROUTE_ADD, ROUTE_DEL, ROUTE_CHECK), loop-free by
//!   construction (see [`table`]).
//! - [`Balancer`]: BALANCE_REQUEST and the auto-scaling signal.
//! - [`GroupCache`]: the relay's cache of recent groups.
//! - [`control`]: cluster control (`'C'`): the clusters a host or operator
//!   keeps ([`ClusterBook`]) and the answer to every typed request.

pub mod auth;
pub mod balance;
pub mod broadcast;
pub mod cache;
pub mod codec;
pub mod config;
pub mod control;
pub mod error;
pub mod identity;
pub mod membership;
pub mod route;
pub mod state;
pub mod table;
pub mod view;

pub use auth::{AuthMode, GossipAuth, Opened};
pub use balance::{AutoScale, BalanceRequest, Balancer};
pub use cache::GroupCache;
pub use config::ClusterConfig;
pub use control::{Actor, ClusterBook, Effect, Handled, Reply};
pub use error::{ClusterError, Result};
pub use identity::{MemberId, PeerAddr};
pub use membership::{GossipStats, Membership, MembershipEvent, Transmit};
pub use route::{Requester, RouteCandidate, plan_route, route_cost, route_find};
pub use state::{ContentLocation, Load, NodeState, ServiceAddrs};
pub use table::{RouteCheck, RouteGrant, RouteTable, Upstream};
pub use view::{ClusterView, Liveness, MemberInfo};

#[cfg(test)]
mod membership_tests;
