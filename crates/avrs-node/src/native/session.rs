//! The session state machines of the control stream, both sides, sans-IO:
//! they take the data of one control message and say what to do.
//!
//! Server: `AwaitOpen` → (signed, connection-bound OPEN, maybe with an
//! access token and a resume wish) → `Open` → UPDATE, CONTENT_ADD,
//! CONTENT_REMOVE, CONTENT_UPDATE (VoD control), CLUSTER_* any number of
//! times → CLOSE. Anything wrong before the session is open refuses the
//! connection; after, a bad request gets its return code and the session
//! goes on. The client side is in `client_side`.

use avrs_crypto::verify_packet;
use avrs_proto::avrs::cluster::{BalanceRequest, CLUSTER_SIGN_CODE, ClusterType};
use avrs_proto::avrs::quic::{BoundOpen, CloseCode, ContentControl, ContentRequest, ContentTarget};
use avrs_proto::avrs::session::ContentRemove;
use avrs_proto::avrs::{
    ClusterRequest, ControlPacket, Request, RetCode, RetCodePacket, SESSION_SIGN_CODE, SessionType,
    SubType, retcode_for,
};
use avrs_proto::{Hash32, ProtoError};
use std::collections::BTreeSet;

/// Most content slots one session may hold at once.
pub const MAX_SLOTS: usize = 64;

/// Text tag of the reply to an OPEN signed for another connection.
pub const BINDING_MISMATCH: &str = "SESSION_BINDING_MISMATCH";

/// What the server does with one control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send the reply; the session goes on.
    Reply(RetCodePacket),
    /// Send the reply, then close the connection with `close`.
    Refuse {
        reply: RetCodePacket,
        close: CloseCode,
    },
    /// The session is open under `id`; send the reply. `resume`: the client
    /// asks for the slots this key had (the driver knows whether any are kept).
    Opened {
        id: Hash32,
        reply: RetCodePacket,
        resume: bool,
    },
    /// Resolve the request's target and stream it under `content_id` (then
    /// reply with [`content_added`] or [`content_not_found`]); STREAMING_IN
    /// requests come here too, for the driver to check the grant.
    Watch {
        content_id: u32,
        request: ContentRequest,
    },
    /// Pause, resume or seek the slot (a VoD); the driver replies.
    Control { control: ContentControl },
    /// A CLUSTER_ADD / DEL / UPDATE: the driver answers from the RBAC table.
    Cluster { kind: SessionType },
    /// A BALANCE_REQUEST (`'C'`): the driver answers with a
    /// BALANCE_RESPONSE, or a code when it cannot.
    Balance { request: BalanceRequest },
    /// Any other typed cluster request (`'C'`): the driver answers it from
    /// the node's cluster book (`cluster::control`) as the session's signer.
    ClusterControl { request: ClusterRequest },
    /// Stop streaming `content_id`; send the reply.
    Unwatch {
        content_id: u32,
        reply: RetCodePacket,
    },
    /// CLOSE: send the reply, then close the connection normally.
    Close { reply: RetCodePacket },
    /// Nothing to do (a client's `'r'`).
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitOpen,
    Open { id: Hash32 },
}

/// The server side of one connection's session.
#[derive(Debug)]
pub struct ServerSession {
    /// The connection's TLS exporter value an OPEN must carry.
    binding: [u8; 32],
    state: State,
    /// Slot ids in use. A removed slot's id is free again only once the
    /// removal is confirmed (the `'r'` to the client's CONTENT_REMOVE, or
    /// the server's CONTENT_REMOVE notice), both sent after every group
    /// stream of the slot was reset or delivered; the lowest free id is
    /// handed out, so nearly every session streams under id 1.
    watching: BTreeSet<u32>,
    /// The OPEN's access token, for every CONTENT_ADD.
    token: Option<String>,
}

impl ServerSession {
    pub fn new(binding: [u8; 32]) -> Self {
        Self {
            binding,
            state: State::AwaitOpen,
            watching: BTreeSet::new(),
            token: None,
        }
    }

    /// The access token the OPEN carried.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Slot ids in use.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.watching.iter().copied()
    }

    /// A resumed session's token, when its new OPEN carried none.
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    /// A resumed session takes back its slots under their old ids.
    pub fn restore_slot(&mut self, content_id: u32) {
        self.watching.insert(content_id);
    }

    /// The session id once open.
    pub fn id(&self) -> Option<Hash32> {
        match self.state {
            State::Open { id } => Some(id),
            State::AwaitOpen => None,
        }
    }

    /// Handles the data of one control message of `subtype`.
    pub fn handle(&mut self, subtype: SubType, data: &[u8]) -> Step {
        match (subtype, self.state) {
            (SubType::RetCode, _) => Step::Ignore,
            (SubType::Session, State::AwaitOpen) => self.open(data),
            (_, State::AwaitOpen) => refuse(RetCodePacket::new(RetCode::SessionNotOpened)),
            (SubType::Session, State::Open { id }) => self.request(id, data),
            (SubType::Cluster, State::Open { id }) => cluster_request(id, data),
            // The framing layer lets no other sub-type through.
            (SubType::Content, _) => Step::Reply(RetCodePacket::new(RetCode::ContentUnavailable)),
        }
    }

    /// A control stream whose framing broke: reply if possible, then close.
    pub fn framing_error(&self, err: &ProtoError) -> Step {
        Step::Refuse {
            reply: RetCodePacket::with_text(RetCode::ArgIncorrect, format!("BAD_MESSAGE: {err}")),
            close: CloseCode::ProtocolViolation,
        }
    }

    /// The content behind a [`Step::Watch`] does not exist.
    pub fn watch_failed(&mut self, content_id: u32) {
        self.watching.remove(&content_id);
    }

    /// The content ended by itself (the server told the client).
    pub fn content_ended(&mut self, content_id: u32) {
        self.watching.remove(&content_id);
    }

    fn open(&mut self, data: &[u8]) -> Step {
        let packet = match ControlPacket::<SessionType>::decode(data) {
            Ok(packet) => packet,
            Err(err) => return refuse(reply_for(&err)),
        };
        if packet.kind() != SessionType::Open {
            return refuse(RetCodePacket::new(RetCode::SessionNotOpened));
        }
        // The signature over the exact bytes first, before any value is used.
        let signer = match verify_packet(data, SESSION_SIGN_CODE, None) {
            Ok(signer) => signer,
            Err(err) => return refuse(RetCodePacket::with_text(err.retcode(), err.text_tag())),
        };
        let open = match BoundOpen::from_packet(&packet) {
            Ok(open) => open,
            Err(err) => return refuse(reply_for(&err)),
        };
        if open.binding != self.binding {
            return refuse(RetCodePacket::with_text(
                RetCode::SignIncorrect,
                BINDING_MISMATCH,
            ));
        }
        self.state = State::Open { id: signer.id };
        self.token = open.token;
        Step::Opened {
            id: signer.id,
            reply: RetCodePacket::new(RetCode::Success),
            resume: open.resume,
        }
    }

    fn request(&mut self, id: Hash32, data: &[u8]) -> Step {
        let packet = match ControlPacket::<SessionType>::decode(data) {
            Ok(packet) => packet,
            Err(err) => return Step::Reply(reply_for(&err)),
        };
        // SIGN is optional after OPEN; when present it must be the session's.
        if packet.is_signed()
            && let Err(err) = verify_packet(data, SESSION_SIGN_CODE, Some(&id))
        {
            return Step::Reply(RetCodePacket::with_text(err.retcode(), err.text_tag()));
        }
        match packet.kind() {
            SessionType::Open => Step::Reply(RetCodePacket::new(RetCode::SessionAlreadyOpened)),
            SessionType::ContentAdd => match ContentRequest::from_packet(&packet) {
                Ok(request) => self.watch(request),
                Err(err) => Step::Reply(reply_for(&err)),
            },
            SessionType::ContentRemove => match ContentRemove::from_packet(&packet) {
                Ok(ContentRemove { content_id }) if self.watching.remove(&content_id) => {
                    Step::Unwatch {
                        content_id,
                        reply: RetCodePacket::new(RetCode::Success),
                    }
                }
                Ok(_) => Step::Reply(RetCodePacket::new(RetCode::SessionContentIdWrong)),
                Err(err) => Step::Reply(reply_for(&err)),
            },
            SessionType::Close => match packet.unsigned_items() {
                [] => Step::Close {
                    reply: RetCodePacket::new(RetCode::Success),
                },
                _ => Step::Reply(RetCodePacket::with_text(
                    RetCode::ArgIncorrect,
                    "CLOSE takes no arguments",
                )),
            },
            // A keepalive; any statistics it may carry later are optional.
            SessionType::Update => match packet.unsigned_items() {
                [] => Step::Reply(RetCodePacket::new(RetCode::Success)),
                _ => Step::Reply(RetCodePacket::with_text(
                    RetCode::ArgIncorrect,
                    "UPDATE takes no arguments",
                )),
            },
            SessionType::ContentUpdate => match ContentControl::from_packet(&packet) {
                Ok(control) if self.watching.contains(&control.content_id) => {
                    Step::Control { control }
                }
                Ok(_) => Step::Reply(RetCodePacket::new(RetCode::SessionContentIdWrong)),
                Err(err) => Step::Reply(reply_for(&err)),
            },
            kind @ (SessionType::ClusterAdd
            | SessionType::ClusterDel
            | SessionType::ClusterUpdate) => Step::Cluster { kind },
        }
    }

    fn watch(&mut self, request: ContentRequest) -> Step {
        if request.flags.is_empty() {
            return Step::Reply(RetCodePacket::with_text(
                RetCode::ContentUnavailable,
                "STREAMING_OUT_REQUIRED",
            ));
        }
        let Some(content_id) = self.free_id() else {
            return Step::Reply(RetCodePacket::with_text(
                RetCode::ContentUnavailable,
                "TOO_MANY_CONTENTS",
            ));
        };
        self.watching.insert(content_id);
        Step::Watch {
            content_id,
            request,
        }
    }

    /// The lowest id not in use (ids of removals not yet confirmed are
    /// still in use).
    fn free_id(&self) -> Option<u32> {
        if self.watching.len() >= MAX_SLOTS {
            return None;
        }
        let mut candidate = avrs_proto::avrs::quic::FIRST_CONTENT_ID;
        for &used in &self.watching {
            if used != candidate {
                break;
            }
            candidate += 1;
        }
        Some(candidate)
    }
}

/// A `'C'` packet on a native session: BALANCE_REQUEST goes to the
/// balancer, any other typed request to cluster control. A SIGN item is
/// optional, as on session packets; when present it must be the session's.
fn cluster_request(id: Hash32, data: &[u8]) -> Step {
    let cluster_reply = |err: &ProtoError| {
        Step::Reply(RetCodePacket::with_text(
            retcode_for(err, SubType::Cluster),
            err.to_string(),
        ))
    };
    let packet = match ControlPacket::<ClusterType>::decode(data) {
        Ok(packet) => packet,
        Err(err) => return cluster_reply(&err),
    };
    if packet.is_signed()
        && let Err(err) = verify_packet(data, CLUSTER_SIGN_CODE, Some(&id))
    {
        return Step::Reply(RetCodePacket::with_text(err.retcode(), err.text_tag()));
    }
    match ClusterRequest::from_packet(&packet) {
        Ok(ClusterRequest::BalanceRequest(request)) => Step::Balance { request },
        Ok(request) => Step::ClusterControl { request },
        Err(err) => cluster_reply(&err),
    }
}

fn refuse(reply: RetCodePacket) -> Step {
    Step::Refuse {
        reply,
        close: CloseCode::SessionRefused,
    }
}

fn reply_for(err: &ProtoError) -> RetCodePacket {
    RetCodePacket::with_text(retcode_for(err, SubType::Session), err.to_string())
}

/// The reply to a successful CONTENT_ADD: SUCCESS, the text the decimal
/// content id (as in the reference).
pub fn content_added(content_id: u32) -> RetCodePacket {
    RetCodePacket::with_text(RetCode::Success, content_id.to_string())
}

/// The reply to a CONTENT_ADD naming nothing live.
pub fn content_not_found(target: &ContentTarget) -> RetCodePacket {
    let what = match target {
        ContentTarget::Name(name) => format!("CONTENT_NOT_FOUND {name}"),
        ContentTarget::Uuid { content, .. } => format!("CONTENT_NOT_FOUND {content}"),
    };
    RetCodePacket::with_text(RetCode::ContentNotFound, what)
}

/// The server's notice that a content ended: CONTENT_REMOVE `[CONTENT_ID]`.
pub fn ended_notice(content_id: u32) -> Vec<u8> {
    ContentRemove { content_id }
        .to_packet()
        .expect("a u32 always encodes")
        .finish()
}

mod client_side;
pub use client_side::{ClientEvent, ClientSession};

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod tests;
