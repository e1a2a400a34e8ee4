//! Session control (`'S'`): code tables and typed requests.

mod types;

#[cfg(test)]
mod tests;

pub use types::{ContentFlags, SESSION_SIGN_CODE, SessionArg, SessionType};

use crate::avrs::control::ControlPacket;
use crate::avrs::labels::{self, labelled};
use crate::avrs::request::{Request, not_allowed, request_enum, required, set_once};
use crate::error::{ProtoError, Result};
use crate::ids::Guuid;
use crate::tsd::{TsdBuilder, TsdItem};

request_enum! {
    /// Any session request, typed by its packet type.
    pub enum SessionRequest: SessionType {
        Open(Open) = Open,
        Close(Close) = Close,
        ContentAdd(ContentAdd) = ContentAdd,
        ContentRemove(ContentRemove) = ContentRemove,
    }
}

/// Hands each item to `take` as a known session argument; `take` returns
/// `Ok(false)` for an argument its packet type does not take.
fn for_each_arg<'a>(
    items: &[TsdItem<'a>],
    mut take: impl FnMut(SessionArg, &TsdItem<'a>) -> Result<bool>,
) -> Result<()> {
    for item in items {
        let arg = SessionArg::from_code(item.code)?;
        if !take(arg, item)? {
            return Err(not_allowed(item.code));
        }
    }
    Ok(())
}

/// OPEN `[SIGN]`: the session id is the SHA3-256 of the signer's key. OPEN is
/// the one session packet that must be signed: it proves the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Open;

impl Request for Open {
    type Kind = SessionType;
    const KIND: SessionType = SessionType::Open;

    fn write_args(&self, _args: &mut TsdBuilder) -> Result<()> {
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        for_each_arg(items, |_, _| Ok(false))?;
        Ok(Self)
    }

    /// As the default, and the SIGN item must be present (`Missing` "SIGN
    /// item", which maps to `SIGN_NOT_PRESENT`).
    fn from_packet(packet: &ControlPacket<'_, SessionType>) -> Result<Self> {
        if packet.kind() != Self::KIND {
            return Err(ProtoError::Malformed {
                what: labels::REQUEST_TYPE,
                reason: "the packet type does not match the request",
            });
        }
        packet.require_sign()?;
        Self::read_args(packet.unsigned_items())
    }
}

/// CLOSE `[]`: ends the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Close;

impl Request for Close {
    type Kind = SessionType;
    const KIND: SessionType = SessionType::Close;

    fn write_args(&self, _args: &mut TsdBuilder) -> Result<()> {
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        for_each_arg(items, |_, _| Ok(false))?;
        Ok(Self)
    }
}

/// CONTENT_ADD `[CLUSTER_UUID (first), CONTENT_UUID, CONTENT_FLAGS]`: opens a
/// content slot in the session; the reply's text is the new u32 content id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentAdd {
    pub cluster: Guuid,
    pub content: Guuid,
    pub flags: ContentFlags,
}

impl Request for ContentAdd {
    type Kind = SessionType;
    const KIND: SessionType = SessionType::ContentAdd;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        let flags = ContentFlags::from_wire(self.flags.bits())?;
        args.put_guuid(SessionArg::ClusterUuid.code(), self.cluster)
            .put_guuid(SessionArg::ContentUuid.code(), self.content)
            .put_u32(SessionArg::ContentFlags.code(), flags.bits());
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        // The cluster scopes the content, so it is read first.
        if let Some(first) = items.first()
            && first.code != SessionArg::ClusterUuid.code()
        {
            return Err(ProtoError::Malformed {
                what: labels::SESSION_CLUSTER,
                reason: "CLUSTER_UUID must be the first argument",
            });
        }
        let (mut cluster, mut content, mut flags) = (None, None, None);
        for_each_arg(items, |arg, item| {
            match arg {
                SessionArg::ClusterUuid => {
                    let id = item.guuid().map_err(labelled(labels::SESSION_CLUSTER))?;
                    set_once(&mut cluster, id, labels::SESSION_CLUSTER)?;
                }
                SessionArg::ContentUuid => {
                    let id = item.guuid().map_err(labelled(labels::SESSION_CONTENT))?;
                    set_once(&mut content, id, labels::SESSION_CONTENT)?;
                }
                SessionArg::ContentFlags => {
                    let bits = item
                        .u32()
                        .map_err(labelled(labels::SESSION_CONTENT_FLAGS))?;
                    set_once(
                        &mut flags,
                        ContentFlags::from_wire(bits)?,
                        labels::SESSION_CONTENT_FLAGS,
                    )?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Self {
            cluster: required(cluster, labels::SESSION_CLUSTER)?,
            content: required(content, labels::SESSION_CONTENT)?,
            flags: required(flags, labels::SESSION_CONTENT_FLAGS)?,
        })
    }
}

/// CONTENT_REMOVE `[CONTENT_ID]`: closes the session's content slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRemove {
    /// The session-local handle returned by CONTENT_ADD.
    pub content_id: u32,
}

impl Request for ContentRemove {
    type Kind = SessionType;
    const KIND: SessionType = SessionType::ContentRemove;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        args.put_u32(SessionArg::ContentId.code(), self.content_id);
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let mut content_id = None;
        for_each_arg(items, |arg, item| {
            if arg != SessionArg::ContentId {
                return Ok(false);
            }
            let id = item.u32().map_err(labelled(labels::SESSION_CONTENT_ID))?;
            set_once(&mut content_id, id, labels::SESSION_CONTENT_ID)?;
            Ok(true)
        })?;
        Ok(Self {
            content_id: required(content_id, labels::SESSION_CONTENT_ID)?,
        })
    }
}
