//! ROUTE_FIND / ROUTE_CHECK and their responses (our typed form; the C
//! code leaves ROUTE_* as no-ops). Contents are named by their
//! cluster-wide id, the one gossip and the relay trees use.
//!
//! - ROUTE_FIND `[ID?, CONTENT_ID, ROUTE_LIMIT?, MEMBER…]`: who could feed
//!   the content, at most ROUTE_LIMIT (1–[`MAX_ROUTE_CANDIDATES`]) of them,
//!   skipping the members named (at most [`MAX_EXCLUDED`]).
//! - ROUTE_FIND_RESPONSE `[ID?, CONTENT_ID, ROUTE_CANDIDATE…]`: the
//!   candidates best first (cost never decreasing), each member once.
//! - ROUTE_CHECK `[ID?, CONTENT_ID, MEMBER]`: does the answering node feed
//!   the content to this member?
//! - ROUTE_CHECK_RESPONSE `[ID?, CONTENT_ID, MEMBER, ROUTE_STATE,
//!   ROUTE_UPSTREAM?]`: the answer, and where the answering node gets the
//!   content from, if it carries it.

use super::balance::MAX_EXCLUDED;
use super::types::{ClusterArg, ClusterType};
use super::{for_each_arg, put_id, read_id};
use crate::avrs::labels::{self, labelled};
use crate::avrs::request::{Request, required, set_once};
use crate::avrs::wire_enum::wire_enum;
use crate::error::{ProtoError, Result};
use crate::ids::{Guuid, Hash32};
use crate::tsd::{TsdBuilder, TsdItem};

/// Most candidates one ROUTE_FIND asks for, and one response carries.
pub const MAX_ROUTE_CANDIDATES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteFind {
    pub id: Option<Guuid>,
    pub content_id: Guuid,
    /// How many candidates at most; `None`: the answerer's default.
    pub limit: Option<u8>,
    /// Members the asker could not use.
    pub exclude: Vec<Hash32>,
}

impl Request for RouteFind {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::RouteFind;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        if self.exclude.len() > MAX_EXCLUDED {
            return Err(too_many(labels::MEMBER, MAX_EXCLUDED));
        }
        write_target(args, self.id, self.content_id);
        if let Some(limit) = self.limit {
            check_limit(limit)?;
            args.put_u8(ClusterArg::RouteLimit.code(), limit);
        }
        for member in &self.exclude {
            args.put_hash(ClusterArg::Member.code(), member);
        }
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let (mut id, mut content_id, mut limit) = (None, None, None);
        let mut exclude = Vec::new();
        for_each_arg(items, |arg, item| {
            match arg {
                ClusterArg::Id => read_id(&mut id, item)?,
                ClusterArg::ContentId => read_content(&mut content_id, item)?,
                ClusterArg::RouteLimit => {
                    let value = item.u8().map_err(labelled(labels::ROUTE_LIMIT))?;
                    check_limit(value)?;
                    set_once(&mut limit, value, labels::ROUTE_LIMIT)?;
                }
                ClusterArg::Member if exclude.len() < MAX_EXCLUDED => {
                    exclude.push(item.hash().map_err(labelled(labels::MEMBER))?)
                }
                ClusterArg::Member => return Err(too_many(labels::MEMBER, MAX_EXCLUDED)),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Self {
            id,
            content_id: required(content_id, labels::CONTENT_ID)?,
            limit,
            exclude,
        })
    }
}

fn check_limit(limit: u8) -> Result<()> {
    match usize::from(limit) {
        0 => Err(ProtoError::UnknownValue {
            what: labels::ROUTE_LIMIT,
            value: 0,
        }),
        n if n > MAX_ROUTE_CANDIDATES => Err(ProtoError::TooLarge {
            what: labels::ROUTE_LIMIT,
            size: n,
            max: MAX_ROUTE_CANDIDATES,
        }),
        _ => Ok(()),
    }
}

fn too_many(what: &'static str, max: usize) -> ProtoError {
    ProtoError::TooMany { what, max }
}

/// `ROUTE_CANDIDATE`: a member that could feed the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParentCandidate {
    pub member: Hash32,
    /// Lower is better (hops, region, load; `docs/scaling.md`).
    pub cost: u32,
    /// The asker's depth under this member: 1 under the origin.
    pub depth: u8,
    /// The member's region, when the answerer knows it.
    pub region: Option<u16>,
}

impl ParentCandidate {
    /// Encoded size: `member[32] · cost u32 LE · depth u8 · has_region u8
    /// (0/1) · region u16 LE` (0 without a region).
    pub const SIZE: usize = 40;

    pub fn to_bytes(self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[..32].copy_from_slice(self.member.as_bytes());
        out[32..36].copy_from_slice(&self.cost.to_le_bytes());
        out[36] = self.depth;
        out[37] = u8::from(self.region.is_some());
        out[38..].copy_from_slice(&self.region.unwrap_or(0).to_le_bytes());
        out
    }

    /// Reads exactly [`Self::SIZE`] bytes; a region flag other than 0 or 1,
    /// or a region without its flag, is refused.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; Self::SIZE] = bytes.try_into().map_err(|_| ProtoError::WrongSize {
            what: labels::ROUTE_CANDIDATE,
            expected: Self::SIZE,
            actual: bytes.len(),
        })?;
        let region = u16::from_le_bytes([arr[38], arr[39]]);
        let region = match (arr[37], region) {
            (1, region) => Some(region),
            (0, 0) => None,
            (flag, _) => {
                return Err(ProtoError::Malformed {
                    what: labels::ROUTE_CANDIDATE,
                    reason: match flag {
                        0 => "a region without its flag",
                        _ => "the region flag is not 0 or 1",
                    },
                });
            }
        };
        let mut member = [0u8; 32];
        member.copy_from_slice(&arr[..32]);
        Ok(Self {
            member: Hash32(member),
            cost: u32::from_le_bytes([arr[32], arr[33], arr[34], arr[35]]),
            depth: arr[36],
            region,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteFindResponse {
    pub id: Option<Guuid>,
    pub content_id: Guuid,
    /// Best first; at most [`MAX_ROUTE_CANDIDATES`].
    pub candidates: Vec<ParentCandidate>,
}

/// Each member once, cost never decreasing, at most the cap.
fn check_candidates(candidates: &[ParentCandidate]) -> Result<()> {
    if candidates.len() > MAX_ROUTE_CANDIDATES {
        return Err(too_many(labels::ROUTE_CANDIDATE, MAX_ROUTE_CANDIDATES));
    }
    for (at, candidate) in candidates.iter().enumerate() {
        if candidates[..at]
            .iter()
            .any(|c| c.member == candidate.member)
        {
            return Err(ProtoError::Duplicate {
                what: labels::ROUTE_CANDIDATE,
            });
        }
    }
    if candidates
        .windows(2)
        .any(|pair| pair[0].cost > pair[1].cost)
    {
        return Err(ProtoError::Malformed {
            what: labels::ROUTE_CANDIDATE,
            reason: "candidates not best first",
        });
    }
    Ok(())
}

impl Request for RouteFindResponse {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::RouteFindResponse;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        check_candidates(&self.candidates)?;
        write_target(args, self.id, self.content_id);
        for candidate in &self.candidates {
            args.put(ClusterArg::RouteCandidate.code(), &candidate.to_bytes())?;
        }
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let (mut id, mut content_id) = (None, None);
        let mut candidates = Vec::new();
        for_each_arg(items, |arg, item| {
            match arg {
                ClusterArg::Id => read_id(&mut id, item)?,
                ClusterArg::ContentId => read_content(&mut content_id, item)?,
                ClusterArg::RouteCandidate if candidates.len() < MAX_ROUTE_CANDIDATES => {
                    candidates.push(ParentCandidate::from_slice(item.value)?)
                }
                ClusterArg::RouteCandidate => {
                    return Err(too_many(labels::ROUTE_CANDIDATE, MAX_ROUTE_CANDIDATES));
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        check_candidates(&candidates)?;
        Ok(Self {
            id,
            content_id: required(content_id, labels::CONTENT_ID)?,
            candidates,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteCheck {
    pub id: Option<Guuid>,
    pub content_id: Guuid,
    /// The child asked about.
    pub member: Hash32,
}

impl Request for RouteCheck {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::RouteCheck;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        write_target(args, self.id, self.content_id);
        args.put_hash(ClusterArg::Member.code(), &self.member);
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let mut check = CheckArgs::default();
        for_each_arg(items, |arg, item| check.read(arg, item))?;
        let (id, content_id, member) = check.target()?;
        Ok(Self {
            id,
            content_id,
            member,
        })
    }
}

wire_enum! {
    /// `ROUTE_STATE`: does the answering node feed the member?
    pub enum RouteState: u8, what = labels::ROUTE_STATE {
        /// Yes, on an attached path.
        Fed = 1 => "FED",
        /// It carries the content but does not feed that member.
        NotOurChild = 2 => "NOT_OUR_CHILD",
        /// It carries nothing attached for the content.
        Unavailable = 3 => "UNAVAILABLE",
    }
}

/// `ROUTE_UPSTREAM`: where the answering node gets the content from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteUpstream {
    /// Published there.
    Origin,
    /// Fed by `parent`, at `depth` (1 under the origin).
    Relay { parent: Hash32, depth: u8 },
    /// Wanted, but not fed (now).
    Detached,
}

impl RouteUpstream {
    /// Encoded size: `kind u8 (1 origin, 2 relay, 3 detached) · depth u8 ·
    /// parent[32]`; depth and parent are zero unless relay, whose depth is
    /// at least 1.
    pub const SIZE: usize = 34;

    pub fn to_bytes(self) -> Result<[u8; Self::SIZE]> {
        let mut out = [0u8; Self::SIZE];
        match self {
            RouteUpstream::Origin => out[0] = 1,
            RouteUpstream::Relay { depth: 0, .. } => return Err(relay_at_zero()),
            RouteUpstream::Relay { parent, depth } => {
                out[0] = 2;
                out[1] = depth;
                out[2..].copy_from_slice(parent.as_bytes());
            }
            RouteUpstream::Detached => out[0] = 3,
        }
        Ok(out)
    }

    /// Reads exactly [`Self::SIZE`] bytes, refusing anything
    /// [`Self::to_bytes`] would not write.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; Self::SIZE] = bytes.try_into().map_err(|_| ProtoError::WrongSize {
            what: labels::ROUTE_UPSTREAM,
            expected: Self::SIZE,
            actual: bytes.len(),
        })?;
        let zero_rest = arr[1..].iter().all(|b| *b == 0);
        let malformed = |reason| ProtoError::Malformed {
            what: labels::ROUTE_UPSTREAM,
            reason,
        };
        match arr[0] {
            1 | 3 if !zero_rest => Err(malformed("depth or parent given without a relay")),
            1 => Ok(RouteUpstream::Origin),
            3 => Ok(RouteUpstream::Detached),
            2 if arr[1] == 0 => Err(relay_at_zero()),
            2 => {
                let mut parent = [0u8; 32];
                parent.copy_from_slice(&arr[2..]);
                Ok(RouteUpstream::Relay {
                    parent: Hash32(parent),
                    depth: arr[1],
                })
            }
            kind => Err(ProtoError::UnknownValue {
                what: labels::ROUTE_UPSTREAM,
                value: u32::from(kind),
            }),
        }
    }
}

fn relay_at_zero() -> ProtoError {
    ProtoError::Malformed {
        what: labels::ROUTE_UPSTREAM,
        reason: "a relay at depth 0",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteCheckResponse {
    pub id: Option<Guuid>,
    pub content_id: Guuid,
    /// The child asked about.
    pub member: Hash32,
    pub state: RouteState,
    /// The answering node's own upstream, if it carries the content.
    pub upstream: Option<RouteUpstream>,
}

impl Request for RouteCheckResponse {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::RouteCheckResponse;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        write_target(args, self.id, self.content_id);
        args.put_hash(ClusterArg::Member.code(), &self.member);
        args.put_u8(ClusterArg::RouteState.code(), self.state.code());
        if let Some(upstream) = self.upstream {
            args.put(ClusterArg::RouteUpstream.code(), &upstream.to_bytes()?)?;
        }
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let mut check = CheckArgs::default();
        let (mut state, mut upstream) = (None, None);
        for_each_arg(items, |arg, item| {
            match arg {
                ClusterArg::RouteState => {
                    let code = item.u8().map_err(labelled(labels::ROUTE_STATE))?;
                    set_once(
                        &mut state,
                        RouteState::from_code(code)?,
                        labels::ROUTE_STATE,
                    )?;
                }
                ClusterArg::RouteUpstream => {
                    let value = RouteUpstream::from_slice(item.value)?;
                    set_once(&mut upstream, value, labels::ROUTE_UPSTREAM)?;
                }
                _ => return check.read(arg, item),
            }
            Ok(true)
        })?;
        let (id, content_id, member) = check.target()?;
        Ok(Self {
            id,
            content_id,
            member,
            state: required(state, labels::ROUTE_STATE)?,
            upstream,
        })
    }
}

/// The `[ID?, CONTENT_ID, MEMBER]` both ROUTE_CHECK packets start with.
#[derive(Default)]
struct CheckArgs {
    id: Option<Guuid>,
    content_id: Option<Guuid>,
    member: Option<Hash32>,
}

impl CheckArgs {
    fn read(&mut self, arg: ClusterArg, item: &TsdItem<'_>) -> Result<bool> {
        match arg {
            ClusterArg::Id => read_id(&mut self.id, item)?,
            ClusterArg::ContentId => read_content(&mut self.content_id, item)?,
            ClusterArg::Member => {
                let member = item.hash().map_err(labelled(labels::MEMBER))?;
                set_once(&mut self.member, member, labels::MEMBER)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn target(self) -> Result<(Option<Guuid>, Guuid, Hash32)> {
        Ok((
            self.id,
            required(self.content_id, labels::CONTENT_ID)?,
            required(self.member, labels::MEMBER)?,
        ))
    }
}

fn read_content(slot: &mut Option<Guuid>, item: &TsdItem<'_>) -> Result<()> {
    let content_id = item.guuid().map_err(labelled(labels::CONTENT_ID))?;
    set_once(slot, content_id, labels::CONTENT_ID)
}

fn write_target(args: &mut TsdBuilder, id: Option<Guuid>, content_id: Guuid) {
    if let Some(id) = id {
        put_id(args, id);
    }
    args.put_guuid(ClusterArg::ContentId.code(), content_id);
}
