//! The session state machines of the control stream, both sides, sans-IO:
//! they take the data of one control message and say what to do.
//!
//! Server: `AwaitOpen` → (signed, connection-bound OPEN) → `Open` →
//! CONTENT_ADD / CONTENT_REMOVE any number of times → CLOSE. Anything wrong
//! before the session is open refuses the connection; after, a bad request
//! gets its return code and the session goes on.

use avrs_crypto::verify_packet;
use avrs_proto::avrs::quic::{BoundOpen, CloseCode, ContentInfo, ContentRequest, ContentTarget};
use avrs_proto::avrs::session::ContentRemove;
use avrs_proto::avrs::{
    ContentFlags, ControlPacket, Request, RetCode, RetCodePacket, SESSION_SIGN_CODE, SessionType,
    SubType, retcode_for,
};
use avrs_proto::{Hash32, ProtoError};
use std::collections::BTreeSet;

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
    /// The session is open under `id`; send the reply.
    Opened { id: Hash32, reply: RetCodePacket },
    /// Resolve `target` and stream it under `content_id` (then reply with
    /// [`content_added`] or [`content_not_found`]).
    Watch {
        content_id: u32,
        target: ContentTarget,
    },
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
    /// Ids are never reused within a session, so a late packet of a removed
    /// content can never be taken for another one.
    next_content_id: u32,
    watching: BTreeSet<u32>,
}

impl ServerSession {
    pub fn new(binding: [u8; 32]) -> Self {
        Self {
            binding,
            state: State::AwaitOpen,
            next_content_id: avrs_proto::avrs::quic::FIRST_CONTENT_ID,
            watching: BTreeSet::new(),
        }
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
            (SubType::Cluster, State::Open { .. }) => Step::Reply(RetCodePacket::with_text(
                RetCode::ClusterWrongRequest,
                "CLUSTER_REQUESTS_NOT_SERVED_ON_NATIVE_SESSIONS",
            )),
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
        Step::Opened {
            id: signer.id,
            reply: RetCodePacket::new(RetCode::Success),
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
            SessionType::Close => Step::Close {
                reply: RetCodePacket::new(RetCode::Success),
            },
            _ => Step::Reply(RetCodePacket::new(RetCode::SessionWrongRequest)),
        }
    }

    fn watch(&mut self, request: ContentRequest) -> Step {
        if request.flags.contains(ContentFlags::STREAMING_IN) {
            return Step::Reply(RetCodePacket::with_text(
                RetCode::ContentUnavailable,
                "STREAMING_IN_NOT_SUPPORTED",
            ));
        }
        if !request.flags.contains(ContentFlags::STREAMING_OUT) {
            return Step::Reply(RetCodePacket::with_text(
                RetCode::ContentUnavailable,
                "STREAMING_OUT_REQUIRED",
            ));
        }
        let content_id = self.next_content_id;
        self.next_content_id = self.next_content_id.wrapping_add(1).max(1);
        self.watching.insert(content_id);
        Step::Watch {
            content_id,
            target: request.target,
        }
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

/// What the client learns from one control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// OPEN accepted.
    Opened,
    /// CONTENT_ADD accepted: frames come under `content_id`.
    Watching { content_id: u32 },
    /// The server describes a content (before the reply to CONTENT_ADD).
    Info(ContentInfo),
    /// The content ended; every group stream of it has been delivered.
    Ended { content_id: u32 },
    /// A request was refused.
    Refused {
        request: &'static str,
        reply: RetCodePacket,
    },
    /// Nothing for the caller (a reply to a request it did not wait for).
    Nothing,
}

/// The client side: which reply answers which request. Requests are
/// answered in order, so the client keeps the queue of names.
#[derive(Debug, Default)]
pub struct ClientSession {
    pending: std::collections::VecDeque<SessionType>,
}

impl ClientSession {
    /// A request of `kind` was sent.
    pub fn sent(&mut self, kind: SessionType) {
        self.pending.push_back(kind);
    }

    /// Handles the data of one control message from the server.
    pub fn handle(&mut self, subtype: SubType, data: &[u8]) -> Result<ClientEvent, ProtoError> {
        match subtype {
            SubType::RetCode => {
                let reply = RetCodePacket::decode(data)?;
                let Some(kind) = self.pending.pop_front() else {
                    return Err(ProtoError::Malformed {
                        what: "return code",
                        reason: "a reply to no request",
                    });
                };
                if reply.code != RetCode::Success {
                    return Ok(ClientEvent::Refused {
                        request: kind.name(),
                        reply,
                    });
                }
                Ok(match kind {
                    SessionType::Open => ClientEvent::Opened,
                    SessionType::ContentAdd => {
                        let content_id = reply.text.parse().map_err(|_| ProtoError::Malformed {
                            what: "return code",
                            reason: "CONTENT_ADD reply text is not a content id",
                        })?;
                        ClientEvent::Watching { content_id }
                    }
                    _ => ClientEvent::Nothing,
                })
            }
            SubType::Session => {
                let packet = ControlPacket::<SessionType>::decode(data)?;
                match packet.kind() {
                    SessionType::ContentUpdate => Ok(ClientEvent::Info(ContentInfo::decode(data)?)),
                    SessionType::ContentRemove => {
                        let ContentRemove { content_id } = ContentRemove::from_packet(&packet)?;
                        Ok(ClientEvent::Ended { content_id })
                    }
                    kind => Err(ProtoError::UnknownValue {
                        what: "server session packet",
                        value: u32::from(kind.code()),
                    }),
                }
            }
            other => Err(ProtoError::UnknownValue {
                what: "server control sub-type",
                value: u32::from(other.code()),
            }),
        }
    }
}

/// The server's notice that a content ended: CONTENT_REMOVE `[CONTENT_ID]`.
pub fn ended_notice(content_id: u32) -> Vec<u8> {
    ContentRemove { content_id }
        .to_packet()
        .expect("a u32 always encodes")
        .finish()
}

#[cfg(test)]
mod tests;
