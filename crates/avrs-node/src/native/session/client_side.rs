//! The client side of the control stream, sans-IO: which reply answers
//! which request, and what the server's own messages mean.

use avrs_proto::avrs::cluster::{BalanceResponse, ClusterType};
use avrs_proto::avrs::quic::ContentInfo;
use avrs_proto::avrs::session::ContentRemove;
use avrs_proto::avrs::{ControlPacket, Request, RetCode, RetCodePacket, SessionType, SubType};
use avrs_proto::{Hash32, ProtoError};

/// What the client learns from one control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// OPEN accepted.
    Opened,
    /// OPEN with RESUME accepted, the session taken back: these slots go on
    /// (each gets its CONTENT_UPDATE next, or a CONTENT_REMOVE).
    Resumed { slots: Vec<u32> },
    /// CONTENT_ADD accepted: frames come under `content_id`.
    Watching {
        content_id: u32,
        /// The rendition a VoD is served in.
        rendition: Option<u32>,
        /// A relay's grant: the path, origin first, the parent last.
        route: Option<Vec<Hash32>>,
        /// The content is sealed by its origin and this server holds no
        /// key: ask the origin here (a key-only CONTENT_ADD).
        key_from: Option<std::net::SocketAddr>,
    },
    /// The server describes a content (before the reply to CONTENT_ADD).
    Info(ContentInfo),
    /// The content ended; every group stream of it has been delivered.
    Ended { content_id: u32 },
    /// BALANCE_REQUEST answered: the server to use.
    Balanced(BalanceResponse),
    /// BOOK_SYNC answered: the BOOK_SYNC_RESPONSE as received (its
    /// signature is the asker's to check).
    BookSynced(Vec<u8>),
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
    pending: std::collections::VecDeque<Pending>,
}

/// A request waiting for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Session(SessionType),
    /// Answered by a BALANCE_RESPONSE, or an `'r'` when refused.
    Balance,
    /// Answered by a BOOK_SYNC_RESPONSE, or an `'r'` when refused.
    BookSync,
}

impl Pending {
    fn name(self) -> &'static str {
        match self {
            Pending::Session(kind) => kind.name(),
            Pending::Balance => ClusterType::BalanceRequest.name(),
            Pending::BookSync => ClusterType::BookSync.name(),
        }
    }
}

impl ClientSession {
    /// A request of `kind` was sent.
    pub fn sent(&mut self, kind: SessionType) {
        self.pending.push_back(Pending::Session(kind));
    }

    /// A BALANCE_REQUEST was sent.
    pub fn sent_balance(&mut self) {
        self.pending.push_back(Pending::Balance);
    }

    /// A BOOK_SYNC was sent.
    pub fn sent_book_sync(&mut self) {
        self.pending.push_back(Pending::BookSync);
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
                    Pending::Session(SessionType::Open) => match resumed_slots(&reply.text) {
                        Some(slots) => ClientEvent::Resumed { slots },
                        None => ClientEvent::Opened,
                    },
                    Pending::Session(SessionType::ContentAdd) => {
                        // "ID", "ID rendition=N" for a VoD, "ID route=HEX,HEX"
                        // for a relay.
                        let mut words = reply.text.split_whitespace();
                        let content_id = words.next().and_then(|w| w.parse().ok()).ok_or(
                            ProtoError::Malformed {
                                what: "return code",
                                reason: "CONTENT_ADD reply text is not a content id",
                            },
                        )?;
                        let (mut rendition, mut route, mut key_from) = (None, None, None);
                        for word in words {
                            if let Some(n) = word.strip_prefix("rendition=") {
                                rendition = n.parse().ok();
                            } else if let Some(path) = word.strip_prefix("route=") {
                                route = Some(route_path(path)?);
                            } else if let Some(addr) = word.strip_prefix("key_from=") {
                                key_from =
                                    Some(addr.parse().map_err(|_| ProtoError::Malformed {
                                        what: "return code",
                                        reason: "CONTENT_ADD key_from is not an address",
                                    })?);
                            }
                        }
                        ClientEvent::Watching {
                            content_id,
                            rendition,
                            route,
                            key_from,
                        }
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
            SubType::Cluster => {
                let packet = ControlPacket::<ClusterType>::decode(data)?;
                if packet.kind() == ClusterType::BookSyncResponse {
                    return self.book_synced(data);
                }
                if packet.kind() != ClusterType::BalanceResponse {
                    return Err(ProtoError::UnknownValue {
                        what: "server cluster packet",
                        value: u32::from(packet.kind().code()),
                    });
                }
                if self.pending.front() != Some(&Pending::Balance) {
                    return Err(ProtoError::Malformed {
                        what: "BALANCE_RESPONSE",
                        reason: "an answer to no BALANCE_REQUEST",
                    });
                }
                self.pending.pop_front();
                Ok(ClientEvent::Balanced(BalanceResponse::from_packet(
                    &packet,
                )?))
            }
            other => Err(ProtoError::UnknownValue {
                what: "server control sub-type",
                value: u32::from(other.code()),
            }),
        }
    }
}

impl ClientSession {
    fn book_synced(&mut self, data: &[u8]) -> Result<ClientEvent, ProtoError> {
        if self.pending.front() != Some(&Pending::BookSync) {
            return Err(ProtoError::Malformed {
                what: "BOOK_SYNC_RESPONSE",
                reason: "an answer to no BOOK_SYNC",
            });
        }
        self.pending.pop_front();
        Ok(ClientEvent::BookSynced(data.to_vec()))
    }
}

/// The slot ids of an OPEN reply `RESUMED 1 2`; `None` for a new session.
/// Ids that are not numbers are skipped (they name nothing to go on with).
fn resumed_slots(text: &str) -> Option<Vec<u32>> {
    let mut words = text.split_whitespace();
    (words.next() == Some("RESUMED")).then(|| words.filter_map(|w| w.parse().ok()).collect())
}

/// A grant's path: member ids in hex, comma-separated, at most 64.
fn route_path(text: &str) -> Result<Vec<Hash32>, ProtoError> {
    let bad = ProtoError::Malformed {
        what: "return code",
        reason: "CONTENT_ADD route is not a list of member ids",
    };
    let ids: Vec<&str> = text.split(',').collect();
    if ids.len() > 64 {
        return Err(bad);
    }
    ids.into_iter()
        .map(|id| Hash32::from_hex(id).map_err(|_| bad.clone()))
        .collect()
}
