//! BALANCE_REQUEST / BALANCE_RESPONSE (our typed form; the C code leaves
//! them as no-ops): which server a client should use.
//!
//! - BALANCE_REQUEST `[ID?, CONTENT_ID?, MEMBER…]`: the cluster (optional:
//!   the one the balancer serves), the content the client wants (its
//!   cluster-wide id), and members the client could not use (at most
//!   [`MAX_EXCLUDED`]).
//! - BALANCE_RESPONSE `[ID?, MEMBER, SERVICE_ADDR]`: the chosen server and
//!   where it listens.

use super::types::{ClusterArg, ClusterType, ServiceAddr};
use super::{for_each_arg, put_id, read_id};
use crate::avrs::labels::{self, labelled};
use crate::avrs::request::{Request, required, set_once};
use crate::error::{ProtoError, Result};
use crate::ids::{Guuid, Hash32};
use crate::tsd::{TsdBuilder, TsdItem};

/// Most members one request may exclude.
pub const MAX_EXCLUDED: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BalanceRequest {
    pub id: Option<Guuid>,
    pub content_id: Option<Guuid>,
    pub exclude: Vec<Hash32>,
}

impl Request for BalanceRequest {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::BalanceRequest;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        if self.exclude.len() > MAX_EXCLUDED {
            return Err(too_many());
        }
        if let Some(id) = self.id {
            put_id(args, id);
        }
        if let Some(content) = self.content_id {
            args.put_guuid(ClusterArg::ContentId.code(), content);
        }
        for member in &self.exclude {
            args.put_hash(ClusterArg::Member.code(), member);
        }
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let mut request = Self::default();
        for_each_arg(items, |arg, item| {
            match arg {
                ClusterArg::Id => read_id(&mut request.id, item)?,
                ClusterArg::ContentId => {
                    let content = item.guuid().map_err(labelled(labels::CONTENT_ID))?;
                    set_once(&mut request.content_id, content, labels::CONTENT_ID)?;
                }
                ClusterArg::Member if request.exclude.len() < MAX_EXCLUDED => request
                    .exclude
                    .push(item.hash().map_err(labelled(labels::MEMBER))?),
                ClusterArg::Member => return Err(too_many()),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(request)
    }
}

fn too_many() -> ProtoError {
    ProtoError::TooLarge {
        what: labels::MEMBER,
        size: MAX_EXCLUDED + 1,
        max: MAX_EXCLUDED,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceResponse {
    pub id: Option<Guuid>,
    /// The chosen server.
    pub member: Hash32,
    /// Where it listens.
    pub service: ServiceAddr,
}

impl Request for BalanceResponse {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::BalanceResponse;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        if let Some(id) = self.id {
            put_id(args, id);
        }
        args.put_hash(ClusterArg::Member.code(), &self.member);
        args.put(ClusterArg::ServiceAddr.code(), &self.service.to_bytes())?;
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let (mut id, mut member, mut service) = (None, None, None);
        for_each_arg(items, |arg, item| {
            match arg {
                ClusterArg::Id => read_id(&mut id, item)?,
                ClusterArg::Member => {
                    let hash = item.hash().map_err(labelled(labels::MEMBER))?;
                    set_once(&mut member, hash, labels::MEMBER)?;
                }
                ClusterArg::ServiceAddr => set_once(
                    &mut service,
                    ServiceAddr::from_slice(item.value)?,
                    labels::SERVICE_ADDR,
                )?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Self {
            id,
            member: required(member, labels::MEMBER)?,
            service: required(service, labels::SERVICE_ADDR)?,
        })
    }
}
