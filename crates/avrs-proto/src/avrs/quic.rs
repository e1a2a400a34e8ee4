//! Native AVRS over QUIC: what travels on each stream (sans-IO).
//!
//! - Every message on every stream is a 16-byte channel header (id `'A'`,
//!   type = the AVRS sub-type, `seq_id`, `data_size`) followed by
//!   `data_size` bytes of AVRS sub-packet ([`encode_message`],
//!   [`check_header`]).
//! - The control stream (bidirectional, opened by the client) carries `'S'`
//!   requests and `'r'` replies; `seq_id` counts the messages of each
//!   direction from 0 ([`SeqCounter`]).
//! - A session OPEN is bound to its connection: it carries the TLS exporter
//!   value of the connection ([`BoundOpen`], [`EXPORTER_LABEL`]) under the
//!   signature, so it cannot be replayed on another connection.
//! - CONTENT_ADD names a live content by name ([`ContentRequest`]); the
//!   server describes the content with a CONTENT_UPDATE ([`ContentInfo`]).
//! - Each group of pictures travels on its own unidirectional stream: a
//!   CONTENT_UPDATE first, then one `'c'` packet per frame whose data starts
//!   with a [`FrameHeader`]; `seq_id` is the frame's position in the content.
//!
//! The layouts are pinned with literal bytes in the tests below and
//! described in `docs/protocol.md` ("Native AVRS over QUIC").

use super::CHANNEL_ID;
use super::content::{self, ContentHeader};
use super::control::{ControlBuilder, ControlPacket};
use super::flow::{FlowCodec, Flows};
use super::labels::{self, labelled};
use super::request::Request;
use super::session::{ContentAdd, ContentFlags, SessionArg, SessionType};
use super::subtype::SubType;
use crate::dap::CHANNEL_HEADER_SIZE;
use crate::dap::ChannelHeader;
use crate::error::{ProtoError, Result};
use crate::ids::Guuid;
use crate::tsd::TsdItem;

mod control;
mod sealed;
mod signed;
pub use control::{ContentControl, MAX_TOKEN, Quality};
pub use sealed::{CONTENT_KEY_SIZE, ContentKeyGrant, sealed_payload, split_sealed};
pub use signed::{
    ContentOrigin, FRAME_SIGNING_DOMAIN, FRAME_SIGNING_SIZE, MAX_FRAME_SIGNATURE, MAX_SIGNER_KEY,
    signature_block, signed_flags, signing_message, split_signature,
};

/// The TLS application protocol (ALPN) of native AVRS, version 1.
pub const ALPN: &[u8] = b"avrs/1";

/// TLS exporter label (RFC 8446 §7.5) of the connection binding; the
/// context is empty and the output [`BINDING_SIZE`] bytes.
pub const EXPORTER_LABEL: &[u8] = b"EXPORTER-avrs/1 session binding";

/// Size of the connection binding value.
pub const BINDING_SIZE: usize = 32;

/// Largest control message data (an ML-DSA-65 signed OPEN is about 5.3 KB).
pub const MAX_CONTROL_DATA: u32 = 64 * 1024;

/// Largest message data on a group stream (one frame plus headers).
pub const MAX_GROUP_DATA: u32 = 16 * 1024 * 1024;

/// Flow ids of a live content: the flows string is always [`LIVE_FLOWS`],
/// so ids stay stable when a track comes or goes; a flow without a codec
/// item in the CONTENT_UPDATE is absent.
pub const VIDEO_FLOW: u8 = 0;
pub const AUDIO_FLOW: u8 = 1;
pub const LIVE_FLOWS: &str = "va";

/// The first session-local content id a session hands out. Starting at 1
/// keeps 0 (what the C senders always wrote) visibly wrong.
pub const FIRST_CONTENT_ID: u32 = 1;

/// Session argument codes native sessions add. They collide with no
/// session code (0x0001, 0x0010, 0x0011, 0x0020–0x0022); the flows and
/// codec items reuse the numbers and value layouts of their cluster twins.
pub mod arg {
    /// OPEN: the connection's TLS exporter value, [`super::BINDING_SIZE`] bytes.
    pub const CONNECTION_BINDING: u16 = 0x0101;
    /// CONTENT_ADD: a live content's name, such as `live/cam1` (string ≤ 255).
    pub const CONTENT_NAME: u16 = 0x0102;
    /// CONTENT_UPDATE: the flows string (as cluster `CONTENT_FLOWS`).
    pub const CONTENT_FLOWS: u16 = 0x0033;
    /// CONTENT_UPDATE: `flow_id u8 · codec · NUL` (as cluster `CONTENT_FLOW_CODEC`).
    pub const CONTENT_FLOW_CODEC: u16 = 0x0034;
    /// CONTENT_UPDATE: `flow_id u8 · decoder configuration` (avcC, ASC).
    pub const CONTENT_FLOW_CONFIG: u16 = 0x0103;
    /// CONTENT_UPDATE: who signs the frames ([`super::ContentOrigin`]).
    pub const CONTENT_ORIGIN: u16 = 0x0104;
    /// OPEN: an access token (JWT, string ≤ [`super::MAX_TOKEN`]), under
    /// the signature, so it is bound to the connection too.
    pub const ACCESS_TOKEN: u16 = 0x0105;
    /// CONTENT_ADD (VoD): where to start; client CONTENT_UPDATE: seek.
    /// u64, 90 kHz ticks from the content's start.
    pub const START_POSITION: u16 = 0x0106;
    /// CONTENT_ADD (VoD): `kind u8 (0 rendition index, 1 max bit/s) · value u32`.
    pub const QUALITY: u16 = 0x0107;
    /// Client CONTENT_UPDATE: u8, 1 PLAYING (resume) or 2 PAUSED.
    pub const CONTENT_STATE: u16 = 0x0108;
    /// OPEN: u8 1, resume the session this key had within `reconnect_timeout`.
    pub const RESUME: u16 = 0x0109;
    /// CONTENT_UPDATE on the control stream: an ENCRYPTED content's key,
    /// `epoch u32 LE · key[32]` ([`super::ContentKeyGrant`]).
    pub const CONTENT_KEY: u16 = 0x010A;
    /// CONTENT_ADD name form: u8 1, the requester is a relay (a cluster
    /// member forwarding to its own viewers): it must never be given an
    /// ENCRYPTED content's key.
    pub const RELAY: u16 = 0x010B;
    /// CONTENT_ADD name form: u8 1, only the ENCRYPTED content's key is
    /// wanted (and its rotations), no frames: a player whose frames come
    /// through a relay asks the origin for the key this way.
    pub const KEY_ONLY: u16 = 0x010C;
}

/// Longest content name.
pub const MAX_NAME: usize = 255;
/// Longest decoder configuration.
pub const MAX_CONFIG: usize = 64 * 1024;

const BINDING_LABEL: &str = "connection binding";
const NAME_LABEL: &str = "content name";
const CONFIG_LABEL: &str = "flow config";
const FRAME_LABEL: &str = "frame header";
const MESSAGE_LABEL: &str = "channel message";

/// QUIC application error codes of CONNECTION_CLOSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum CloseCode {
    /// Normal end (CLOSE, the viewer is done, the content ended).
    NoError = 0x0,
    /// Broken framing on the control stream (bad header, oversized message,
    /// wrong `seq_id`, a sub-type that has no business there).
    ProtocolViolation = 0x1,
    /// Session OPEN refused (unsigned, bad signature, not bound to this
    /// connection, bad arguments); the `'r'` reply says why.
    SessionRefused = 0x2,
    /// No control stream or no OPEN in time.
    Timeout = 0x3,
    /// The server is shutting down.
    Shutdown = 0x4,
    /// Wrong ALPN or another TLS-level mismatch seen after the handshake.
    WrongProtocol = 0x5,
    /// The session's access token no longer holds (revoked, expired); the
    /// reason text starts with the AVRS return code name.
    AccessRevoked = 0x6,
    /// The same session (same key) resumed on a newer connection, which
    /// took its slots over.
    SessionMoved = 0x7,
    /// From a client: it gives up on this connection (the server went
    /// silent) and will resume the session on a new one.
    Abandoned = 0x8,
    /// ROUTE_DEL: the relay that fed this child relay lost its own parent
    /// (or stopped); the child re-routes.
    RouteDel = 0x9,
}

impl CloseCode {
    pub const fn code(self) -> u32 {
        self as u32
    }
}

/// Stream reset code of a group stream dropped because the viewer lagged.
pub const RESET_GROUP_DROPPED: u32 = 0x10;
/// Stream reset code of a group stream abandoned when the session stops.
pub const RESET_CANCELLED: u32 = 0x11;

/// Which sub-types may travel on a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// The bidirectional control stream: `'S'`, `'r'` (and `'C'`, refused
    /// by the session layer with a reply).
    Control,
    /// A unidirectional group stream: `'S'` (CONTENT_UPDATE) and `'c'`.
    Group,
}

/// The 16-byte channel header of a message.
pub fn message_header(subtype: SubType, seq_id: u64, data_len: usize) -> [u8; CHANNEL_HEADER_SIZE] {
    ChannelHeader {
        id: CHANNEL_ID,
        subtype: subtype.code(),
        seq_id,
        // Callers keep data within MAX_GROUP_DATA, far below u32::MAX.
        data_size: u32::try_from(data_len).unwrap_or(u32::MAX),
    }
    .encode()
}

/// Header and data as one message.
pub fn encode_message(subtype: SubType, seq_id: u64, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(CHANNEL_HEADER_SIZE + data.len());
    out.extend_from_slice(&message_header(subtype, seq_id, data.len()));
    out.extend_from_slice(data);
    out
}

/// Checks a received channel header before its data is read: channel
/// `'A'`, a sub-type allowed on this kind of stream, data within the cap.
pub fn check_header(
    bytes: &[u8; CHANNEL_HEADER_SIZE],
    stream: StreamKind,
) -> Result<ChannelHeader> {
    let header = ChannelHeader::decode(bytes)?;
    if header.id != CHANNEL_ID {
        return Err(ProtoError::UnknownValue {
            what: "channel id",
            value: u32::from(header.id),
        });
    }
    let subtype = SubType::from_code(header.subtype)?;
    let (allowed, max) = match stream {
        StreamKind::Control => (
            matches!(
                subtype,
                SubType::Session | SubType::RetCode | SubType::Cluster
            ),
            MAX_CONTROL_DATA,
        ),
        StreamKind::Group => (
            matches!(subtype, SubType::Session | SubType::Content),
            MAX_GROUP_DATA,
        ),
    };
    if !allowed {
        return Err(ProtoError::Malformed {
            what: labels::SUBTYPE,
            reason: "this sub-type does not travel on this stream",
        });
    }
    if header.data_size > max {
        return Err(ProtoError::TooLarge {
            what: MESSAGE_LABEL,
            size: header.data_size as usize,
            max: max as usize,
        });
    }
    Ok(header)
}

/// The `seq_id` of one direction of a control stream: 0, 1, 2, … QUIC
/// already delivers in order and protects against replay, so any other
/// value means a broken or hostile peer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqCounter {
    next: u64,
}

impl SeqCounter {
    /// The id for the next message to send.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next;
        self.next += 1;
        id
    }

    /// Checks a received id.
    pub fn accept(&mut self, seq_id: u64) -> Result<()> {
        if seq_id != self.next {
            return Err(ProtoError::Malformed {
                what: MESSAGE_LABEL,
                reason: "seq_id out of order",
            });
        }
        self.next += 1;
        Ok(())
    }
}

/// OPEN `[CONNECTION_BINDING, ACCESS_TOKEN?, RESUME?, SIGN]`: the session id
/// is the signer's key id, and the signature covers the binding, which is
/// the connection's TLS exporter value: replayed on another connection, it
/// does not match. The token and the resume wish are signed with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundOpen {
    pub binding: [u8; BINDING_SIZE],
    /// An access token for every CONTENT_ADD of the session.
    pub token: Option<String>,
    /// Take back this key's session (and its slots) if it is still kept.
    pub resume: bool,
}

impl BoundOpen {
    /// An OPEN with the binding only.
    pub fn new(binding: [u8; BINDING_SIZE]) -> Self {
        Self {
            binding,
            token: None,
            resume: false,
        }
    }

    /// Header and arguments, ready to be signed.
    pub fn to_packet(&self) -> Result<ControlBuilder<SessionType>> {
        let mut builder = ControlBuilder::new(SessionType::Open);
        let args = builder.args_mut();
        args.put(arg::CONNECTION_BINDING, &self.binding)?;
        if let Some(token) = &self.token {
            control::check_token(token)?;
            args.put_str(arg::ACCESS_TOKEN, token)?;
        }
        if self.resume {
            args.put_u8(arg::RESUME, 1);
        }
        Ok(builder)
    }

    /// Reads an OPEN: the SIGN item present, the binding once, the token
    /// and resume items at most once. The signature itself is checked by
    /// the crypto crate.
    pub fn from_packet(packet: &ControlPacket<'_, SessionType>) -> Result<Self> {
        if packet.kind() != SessionType::Open {
            return Err(ProtoError::Malformed {
                what: labels::REQUEST_TYPE,
                reason: "the packet type does not match the request",
            });
        }
        packet.require_sign()?;
        let (mut binding, mut token, mut resume) = (None, None, None);
        for item in packet.unsigned_items() {
            match item.code {
                arg::CONNECTION_BINDING => {
                    let value: [u8; BINDING_SIZE] =
                        item.value.try_into().map_err(|_| ProtoError::WrongSize {
                            what: BINDING_LABEL,
                            expected: BINDING_SIZE,
                            actual: item.value.len(),
                        })?;
                    set_once(&mut binding, value, BINDING_LABEL)?;
                }
                arg::ACCESS_TOKEN => {
                    let text = control::read_token(item)?;
                    set_once(&mut token, text, control::TOKEN_LABEL)?;
                }
                arg::RESUME => {
                    let flag = control::read_flag(item, control::RESUME_LABEL)?;
                    set_once(&mut resume, flag, control::RESUME_LABEL)?;
                }
                code => return Err(not_allowed(code)),
            }
        }
        Ok(Self {
            binding: binding.ok_or(ProtoError::Missing {
                what: BINDING_LABEL,
            })?,
            token,
            resume: resume.unwrap_or(false),
        })
    }
}

/// What a CONTENT_ADD names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentTarget {
    /// The reference form: `[CLUSTER_UUID (first), CONTENT_UUID, CONTENT_FLAGS]`.
    Uuid { cluster: Guuid, content: Guuid },
    /// The name form for live URLs: `[CONTENT_NAME, CONTENT_FLAGS]`.
    Name(String),
}

/// A CONTENT_ADD in either form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRequest {
    pub target: ContentTarget,
    pub flags: ContentFlags,
    /// Name form only: where a VoD starts (90 kHz ticks).
    pub start: Option<u64>,
    /// Name form only: the rendition wished for (VoD).
    pub quality: Option<Quality>,
    /// Name form only: asked by a relay ([`arg::RELAY`]).
    pub relay: bool,
    /// Name form only: the key alone ([`arg::KEY_ONLY`]).
    pub key_only: bool,
}

impl ContentRequest {
    /// Watch `name` (STREAMING_OUT).
    pub fn watch(name: impl Into<String>) -> Self {
        Self {
            target: ContentTarget::Name(name.into()),
            flags: ContentFlags::STREAMING_OUT,
            start: None,
            quality: None,
            relay: false,
            key_only: false,
        }
    }

    pub fn to_packet(&self) -> Result<ControlBuilder<SessionType>> {
        match &self.target {
            ContentTarget::Uuid { .. }
                if self.start.is_some()
                    || self.quality.is_some()
                    || self.relay
                    || self.key_only =>
            {
                Err(ProtoError::Malformed {
                    what: NAME_LABEL,
                    reason: "start, quality, relay and key-only need the name form",
                })
            }
            ContentTarget::Uuid { cluster, content } => ContentAdd {
                cluster: *cluster,
                content: *content,
                flags: self.flags,
            }
            .to_packet(),
            ContentTarget::Name(name) => {
                check_name(name)?;
                let mut builder = ControlBuilder::new(SessionType::ContentAdd);
                builder
                    .args_mut()
                    .put_str(arg::CONTENT_NAME, name)?
                    .put_u32(SessionArg::ContentFlags.code(), self.flags.bits());
                if let Some(start) = self.start {
                    builder.args_mut().put_u64(arg::START_POSITION, start);
                }
                if let Some(quality) = self.quality {
                    builder.args_mut().put(arg::QUALITY, &quality.to_value())?;
                }
                if self.relay {
                    builder.args_mut().put_u8(arg::RELAY, 1);
                }
                if self.key_only {
                    builder.args_mut().put_u8(arg::KEY_ONLY, 1);
                }
                Ok(builder)
            }
        }
    }

    /// Reads either form: a first item CLUSTER_UUID selects the reference
    /// form (read by [`ContentAdd`]), anything else the name form.
    pub fn from_packet(packet: &ControlPacket<'_, SessionType>) -> Result<Self> {
        if packet.kind() != SessionType::ContentAdd {
            return Err(ProtoError::Malformed {
                what: labels::REQUEST_TYPE,
                reason: "the packet type does not match the request",
            });
        }
        let items = packet.unsigned_items();
        if items
            .first()
            .is_some_and(|i| i.code == SessionArg::ClusterUuid.code())
        {
            let add = ContentAdd::read_args(items)?;
            return Ok(Self {
                target: ContentTarget::Uuid {
                    cluster: add.cluster,
                    content: add.content,
                },
                flags: add.flags,
                start: None,
                quality: None,
                relay: false,
                key_only: false,
            });
        }
        let (mut name, mut flags) = (None, None);
        let (mut start, mut quality, mut relay, mut key_only) = (None, None, None, None);
        for item in items {
            match item.code {
                arg::CONTENT_NAME => {
                    let text = item.str_max(MAX_NAME).map_err(labelled(NAME_LABEL))?;
                    check_name(text)?;
                    set_once(&mut name, text.to_owned(), NAME_LABEL)?;
                }
                code if code == SessionArg::ContentFlags.code() => {
                    let bits = item
                        .u32()
                        .map_err(labelled(labels::SESSION_CONTENT_FLAGS))?;
                    set_once(
                        &mut flags,
                        ContentFlags::from_wire(bits)?,
                        labels::SESSION_CONTENT_FLAGS,
                    )?;
                }
                arg::START_POSITION => {
                    let ticks = control::read_position(item)?;
                    set_once(&mut start, ticks, control::POSITION_LABEL)?;
                }
                arg::QUALITY => {
                    set_once(
                        &mut quality,
                        Quality::from_value(item.value)?,
                        control::QUALITY_LABEL,
                    )?;
                }
                arg::RELAY => {
                    let flag = control::read_flag(item, control::RELAY_LABEL)?;
                    set_once(&mut relay, flag, control::RELAY_LABEL)?;
                }
                arg::KEY_ONLY => {
                    let flag = control::read_flag(item, control::KEY_ONLY_LABEL)?;
                    set_once(&mut key_only, flag, control::KEY_ONLY_LABEL)?;
                }
                code => return Err(not_allowed(code)),
            }
        }
        Ok(Self {
            start,
            quality,
            relay: relay.unwrap_or(false),
            key_only: key_only.unwrap_or(false),
            target: ContentTarget::Name(name.ok_or(ProtoError::Missing { what: NAME_LABEL })?),
            flags: flags.ok_or(ProtoError::Missing {
                what: labels::SESSION_CONTENT_FLAGS,
            })?,
        })
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(ProtoError::Malformed {
            what: NAME_LABEL,
            reason: "empty name",
        });
    }
    if name.len() > MAX_NAME {
        return Err(ProtoError::TooLarge {
            what: NAME_LABEL,
            size: name.len(),
            max: MAX_NAME,
        });
    }
    Ok(())
}

/// One track of a content as a CONTENT_UPDATE describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInfo {
    pub flow_id: u8,
    /// RFC 6381 codec string (`avc1.64001F`, `mp4a.40.2`).
    pub codec: String,
    /// The decoder configuration: the `AVCDecoderConfigurationRecord` for
    /// `avc1`, the `AudioSpecificConfig` for `mp4a`.
    pub config: Vec<u8>,
}

/// CONTENT_UPDATE `[CONTENT_ID, CONTENT_FLOWS, (FLOW_CODEC, FLOW_CONFIG)…]`,
/// server → client: the content's flows and the decoder configuration of
/// each present track. It starts every group stream and precedes any frame
/// whose configuration differs from the one before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentInfo {
    pub content_id: u32,
    pub flows: Flows,
    /// At most one per flow, each naming a flow.
    pub tracks: Vec<TrackInfo>,
    /// The content's id and the key its frames are signed with; `None`:
    /// frames come unsigned.
    pub origin: Option<ContentOrigin>,
    /// The content key, for an ENCRYPTED content, in the CONTENT_UPDATE of
    /// an authorised session's control stream only.
    pub key: Option<ContentKeyGrant>,
}

impl ContentInfo {
    /// The unsigned packet (SIGN is optional after OPEN).
    pub fn encode(&self) -> Result<Vec<u8>> {
        self.check()?;
        let mut builder = ControlBuilder::new(SessionType::ContentUpdate);
        let args = builder.args_mut();
        args.put_u32(SessionArg::ContentId.code(), self.content_id)
            .put_str(arg::CONTENT_FLOWS, self.flows.as_str())?;
        for track in &self.tracks {
            let codec = FlowCodec::new(track.flow_id, track.codec.clone()).encode_value()?;
            args.put(arg::CONTENT_FLOW_CODEC, &codec)?;
            let mut config = Vec::with_capacity(1 + track.config.len());
            config.push(track.flow_id);
            config.extend_from_slice(&track.config);
            args.put(arg::CONTENT_FLOW_CONFIG, &config)?;
        }
        if let Some(key) = &self.key {
            args.put(arg::CONTENT_KEY, &key.encode_value())?;
        }
        if let Some(origin) = &self.origin {
            args.put(arg::CONTENT_ORIGIN, &origin.encode_value()?)?;
        }
        Ok(builder.finish())
    }

    pub fn decode(data: &[u8]) -> Result<Self> {
        let packet = ControlPacket::<SessionType>::decode(data)?;
        if packet.kind() != SessionType::ContentUpdate {
            return Err(ProtoError::Malformed {
                what: labels::REQUEST_TYPE,
                reason: "the packet type does not match the request",
            });
        }
        let mut items = InfoItems::default();
        for item in packet.unsigned_items() {
            items.read(item)?;
        }
        let InfoItems {
            content_id,
            flows,
            codecs,
            mut configs,
            origin,
            key,
        } = items;
        let flows = flows.ok_or(ProtoError::Missing {
            what: labels::CONTENT_FLOWS,
        })?;
        let mut tracks = Vec::with_capacity(codecs.len());
        for codec in codecs {
            let at = configs
                .iter()
                .position(|(flow, _)| *flow == codec.flow_id)
                .ok_or(ProtoError::Missing { what: CONFIG_LABEL })?;
            let (_, config) = configs.swap_remove(at);
            tracks.push(TrackInfo {
                flow_id: codec.flow_id,
                codec: codec.codec,
                config,
            });
        }
        if !configs.is_empty() {
            return Err(ProtoError::Malformed {
                what: CONFIG_LABEL,
                reason: "a flow config without a flow codec",
            });
        }
        let info = Self {
            content_id: content_id.ok_or(ProtoError::Missing {
                what: labels::SESSION_CONTENT_ID,
            })?,
            flows,
            tracks,
            origin,
            key,
        };
        info.check()?;
        Ok(info)
    }

    fn check(&self) -> Result<()> {
        let mut seen = [false; 256];
        for track in &self.tracks {
            self.flows.check(track.flow_id)?;
            if std::mem::replace(&mut seen[usize::from(track.flow_id)], true) {
                return Err(ProtoError::Duplicate {
                    what: labels::FLOW_CODEC,
                });
            }
            if track.config.len() > MAX_CONFIG {
                return Err(ProtoError::TooLarge {
                    what: CONFIG_LABEL,
                    size: track.config.len(),
                    max: MAX_CONFIG,
                });
            }
        }
        Ok(())
    }

    /// The track on `flow_id`, if present.
    pub fn track(&self, flow_id: u8) -> Option<&TrackInfo> {
        self.tracks.iter().find(|t| t.flow_id == flow_id)
    }
}

/// The items of a CONTENT_UPDATE as they are read.
#[derive(Default)]
struct InfoItems {
    content_id: Option<u32>,
    flows: Option<Flows>,
    codecs: Vec<FlowCodec>,
    configs: Vec<(u8, Vec<u8>)>,
    origin: Option<ContentOrigin>,
    key: Option<ContentKeyGrant>,
}

impl InfoItems {
    fn read(&mut self, item: &TsdItem<'_>) -> Result<()> {
        match item.code {
            code if code == SessionArg::ContentId.code() => {
                let id = item.u32().map_err(labelled(labels::SESSION_CONTENT_ID))?;
                set_once(&mut self.content_id, id, labels::SESSION_CONTENT_ID)
            }
            arg::CONTENT_FLOWS => {
                let text = item.str().map_err(labelled(labels::CONTENT_FLOWS))?;
                set_once(&mut self.flows, Flows::new(text)?, labels::CONTENT_FLOWS)
            }
            arg::CONTENT_FLOW_CODEC => {
                self.codecs.push(FlowCodec::decode_value(item.value)?);
                Ok(())
            }
            arg::CONTENT_FLOW_CONFIG => self.read_config(item.value),
            arg::CONTENT_ORIGIN => {
                let origin = ContentOrigin::decode_value(item.value)?;
                set_once(&mut self.origin, origin, signed::ORIGIN_LABEL)
            }
            arg::CONTENT_KEY => {
                let key = ContentKeyGrant::decode_value(item.value)?;
                set_once(&mut self.key, key, "content key")
            }
            code => Err(not_allowed(code)),
        }
    }

    fn read_config(&mut self, value: &[u8]) -> Result<()> {
        let (&flow, config) = value.split_first().ok_or(ProtoError::Truncated {
            what: CONFIG_LABEL,
            need: 1,
            have: 0,
        })?;
        if self.configs.iter().any(|(f, _)| *f == flow) {
            return Err(ProtoError::Duplicate { what: CONFIG_LABEL });
        }
        self.configs.push((flow, config.to_vec()));
        Ok(())
    }
}

bitflags::bitflags! {
    /// Flags of a [`FrameHeader`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct FrameFlags: u8 {
        /// A sync sample: an IDR picture (every audio frame carries it).
        const KEYFRAME = 0x01;
        /// The first frame after the publisher came back: times continue,
        /// but the source changed.
        const DISCONTINUITY = 0x02;
        /// A signature block follows the header ([`signature_block`]).
        const SIGNED = 0x04;
        /// The frame bytes are sealed: `epoch u32 LE · ciphertext`
        /// ([`sealed_payload`]), an ENCRYPTED content.
        const SEALED = 0x08;
    }
}

/// Size of [`FrameHeader`].
pub const FRAME_HEADER_SIZE: usize = 20;

/// The start of a `'c'` packet's data on a group stream:
/// `flags u8 · padding[3] · dts i64 · pts i64`, times in 90 kHz ticks.
/// The frame bytes follow: AVCC length-prefixed NAL units for video, one
/// raw AAC frame (no ADTS header) for audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameHeader {
    pub flags: FrameFlags,
    pub dts: i64,
    pub pts: i64,
}

impl FrameHeader {
    pub fn to_bytes(self) -> [u8; FRAME_HEADER_SIZE] {
        let mut out = [0u8; FRAME_HEADER_SIZE];
        out[0] = self.flags.bits();
        out[4..12].copy_from_slice(&self.dts.to_le_bytes());
        out[12..20].copy_from_slice(&self.pts.to_le_bytes());
        out
    }

    /// Reads the header and returns the frame bytes after it. Undefined
    /// flags and non-zero padding are refused.
    pub fn decode(data: &[u8]) -> Result<(Self, &[u8])> {
        crate::error::need(FRAME_LABEL, data, FRAME_HEADER_SIZE)?;
        let (head, frame) = data.split_at(FRAME_HEADER_SIZE);
        let flags = FrameFlags::from_bits(head[0]).ok_or(ProtoError::UnknownValue {
            what: FRAME_LABEL,
            value: u32::from(head[0]),
        })?;
        if head[1..4] != [0, 0, 0] {
            return Err(ProtoError::Malformed {
                what: FRAME_LABEL,
                reason: "padding is not zero",
            });
        }
        let dts = i64::from_le_bytes(head[4..12].try_into().expect("8 bytes"));
        let pts = i64::from_le_bytes(head[12..20].try_into().expect("8 bytes"));
        Ok((Self { flags, dts, pts }, frame))
    }
}

/// Bytes before the frame data in a frame message: channel header, content
/// header, frame header.
pub const FRAME_PREFIX_SIZE: usize = CHANNEL_HEADER_SIZE + content::HEADER_SIZE + FRAME_HEADER_SIZE;

/// The prefix of a signed frame message: [`frame_prefix`] with SIGNED set
/// and the signature block after the frame header. `header` need not have
/// SIGNED set; it is added here.
pub fn signed_frame_prefix(
    seq: u64,
    content: ContentHeader,
    mut header: FrameHeader,
    signature: &[u8],
    frame_len: usize,
) -> Result<Vec<u8>> {
    header.flags |= FrameFlags::SIGNED;
    let block = signature_block(signature)?;
    let mut out = Vec::with_capacity(FRAME_PREFIX_SIZE + block.len());
    out.extend_from_slice(&frame_prefix(seq, content, header, block.len() + frame_len));
    out.extend_from_slice(&block);
    Ok(out)
}

/// The prefix of a frame message whose frame has `frame_len` bytes (for a
/// signed one: signature block included); those bytes follow it on the
/// stream.
pub fn frame_prefix(
    seq: u64,
    content: ContentHeader,
    header: FrameHeader,
    frame_len: usize,
) -> [u8; FRAME_PREFIX_SIZE] {
    let data_len = content::HEADER_SIZE + FRAME_HEADER_SIZE + frame_len;
    let mut out = [0u8; FRAME_PREFIX_SIZE];
    out[..CHANNEL_HEADER_SIZE].copy_from_slice(&message_header(SubType::Content, seq, data_len));
    out[CHANNEL_HEADER_SIZE..CHANNEL_HEADER_SIZE + content::HEADER_SIZE]
        .copy_from_slice(&content.to_bytes());
    out[CHANNEL_HEADER_SIZE + content::HEADER_SIZE..].copy_from_slice(&header.to_bytes());
    out
}

/// A `'c'` message of a group stream, split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameParts<'a> {
    pub content: ContentHeader,
    pub header: FrameHeader,
    /// Present exactly when `header.flags` has SIGNED.
    pub signature: Option<&'a [u8]>,
    pub frame: &'a [u8],
}

/// Reads the data of a `'c'` message from a group stream.
pub fn decode_frame(data: &[u8]) -> Result<FrameParts<'_>> {
    let (content, rest) = ContentHeader::decode(data)?;
    let (header, rest) = FrameHeader::decode(rest)?;
    let (signature, frame) = split_signature(header.flags, rest)?;
    Ok(FrameParts {
        content,
        header,
        signature,
        frame,
    })
}

pub(crate) fn set_once<T>(slot: &mut Option<T>, value: T, what: &'static str) -> Result<()> {
    if slot.is_some() {
        return Err(ProtoError::Duplicate { what });
    }
    *slot = Some(value);
    Ok(())
}

pub(crate) fn not_allowed(code: u16) -> ProtoError {
    ProtoError::UnknownValue {
        what: labels::ARG_NOT_ALLOWED,
        value: u32::from(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avrs::retcode::RetCode;
    use crate::avrs::retcode_for;

    #[test]
    fn codes_are_pinned_and_do_not_collide() {
        assert_eq!(ALPN, b"avrs/1");
        assert_eq!(arg::CONNECTION_BINDING, 0x0101);
        assert_eq!(arg::CONTENT_NAME, 0x0102);
        assert_eq!(arg::CONTENT_FLOW_CONFIG, 0x0103);
        assert_eq!(arg::CONTENT_FLOWS, 0x0033);
        assert_eq!(arg::CONTENT_FLOW_CODEC, 0x0034);
        for code in [
            arg::CONNECTION_BINDING,
            arg::CONTENT_NAME,
            arg::CONTENT_FLOWS,
            arg::CONTENT_FLOW_CODEC,
            arg::CONTENT_FLOW_CONFIG,
        ] {
            assert!(SessionArg::from_code(code).is_err(), "0x{code:04X} is new");
        }
        let closes = [
            (CloseCode::NoError, 0),
            (CloseCode::ProtocolViolation, 1),
            (CloseCode::SessionRefused, 2),
            (CloseCode::Timeout, 3),
            (CloseCode::Shutdown, 4),
            (CloseCode::WrongProtocol, 5),
        ];
        for (close, code) in closes {
            assert_eq!(close.code(), code);
        }
        assert_eq!((RESET_GROUP_DROPPED, RESET_CANCELLED), (0x10, 0x11));
    }

    #[test]
    fn message_is_a_channel_header_and_data() {
        let bytes = encode_message(SubType::Session, 2, &[0xAA, 0xBB]);
        assert_eq!(
            bytes,
            [
                b'A', 0, b'S', 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0xAA, 0xBB
            ]
        );
        let header = check_header(bytes[..16].try_into().unwrap(), StreamKind::Control).unwrap();
        assert_eq!((header.seq_id, header.data_size), (2, 2));
    }

    #[test]
    fn header_checks_refuse_garbage() {
        let header = |id: u8, subtype: u8, size: u32| {
            let mut h = [0u8; 16];
            h[0] = id;
            h[2] = subtype;
            h[12..].copy_from_slice(&size.to_le_bytes());
            h
        };
        use StreamKind::*;
        assert!(check_header(&header(b'B', b'S', 0), Control).is_err());
        assert!(check_header(&header(b'A', b'x', 0), Control).is_err());
        assert!(check_header(&header(b'A', b'c', 0), Control).is_err());
        assert!(check_header(&header(b'A', b'r', 0), Group).is_err());
        assert!(check_header(&header(b'A', b'S', MAX_CONTROL_DATA), Control).is_ok());
        assert!(check_header(&header(b'A', b'S', MAX_CONTROL_DATA + 1), Control).is_err());
        assert!(check_header(&header(b'A', b'c', MAX_GROUP_DATA), Group).is_ok());
        assert!(check_header(&header(b'A', b'c', MAX_GROUP_DATA + 1), Group).is_err());
    }

    #[test]
    fn seq_counter_wants_every_id_in_turn() {
        let mut out = SeqCounter::default();
        assert_eq!((out.next_id(), out.next_id()), (0, 1));
        let mut seen = SeqCounter::default();
        assert!(seen.accept(0).is_ok());
        assert!(seen.accept(2).is_err());
        assert!(seen.accept(1).is_ok());
        assert!(seen.accept(1).is_err(), "a repeat is refused");
    }

    #[test]
    fn bound_open_has_its_literal_layout() {
        let open = BoundOpen::new([7; 32]);
        let unsigned = open.to_packet().unwrap();
        let expected: Vec<u8> = [
            &[0x01, 0, 0, 0, 0, 0, 0, 0][..],
            &[0x01, 0x01, 32, 0, 0, 0],
            &[7; 32],
        ]
        .concat();
        assert_eq!(unsigned.unsigned_bytes(), &expected[..]);
        let signed = unsigned.finish_signed(b"sig").unwrap();
        let packet = ControlPacket::decode(&signed).unwrap();
        assert_eq!(BoundOpen::from_packet(&packet), Ok(open));
    }

    #[test]
    fn bound_open_refusals_map_to_return_codes() {
        let unsigned = BoundOpen::new([7; 32]).to_packet().unwrap().finish();
        let packet = ControlPacket::decode(&unsigned).unwrap();
        let err = BoundOpen::from_packet(&packet).unwrap_err();
        assert_eq!(retcode_for(&err, SubType::Session), RetCode::SignNotPresent);

        let mut bare = ControlBuilder::new(SessionType::Open);
        bare.args_mut();
        let bare = bare.finish_signed(b"sig").unwrap();
        let err = BoundOpen::from_packet(&ControlPacket::decode(&bare).unwrap()).unwrap_err();
        assert_eq!(
            err,
            ProtoError::Missing {
                what: BINDING_LABEL
            }
        );
        assert_eq!(retcode_for(&err, SubType::Session), RetCode::ArgIncorrect);

        let mut short = ControlBuilder::new(SessionType::Open);
        short
            .args_mut()
            .put(arg::CONNECTION_BINDING, &[1; 31])
            .unwrap();
        let short = short.finish_signed(b"sig").unwrap();
        assert!(matches!(
            BoundOpen::from_packet(&ControlPacket::decode(&short).unwrap()),
            Err(ProtoError::WrongSize {
                expected: 32,
                actual: 31,
                ..
            })
        ));

        let mut twice = ControlBuilder::new(SessionType::Open);
        twice
            .args_mut()
            .put(arg::CONNECTION_BINDING, &[1; 32])
            .unwrap()
            .put(arg::CONNECTION_BINDING, &[1; 32])
            .unwrap();
        let twice = twice.finish_signed(b"sig").unwrap();
        assert_eq!(
            BoundOpen::from_packet(&ControlPacket::decode(&twice).unwrap()),
            Err(ProtoError::Duplicate {
                what: BINDING_LABEL
            })
        );
    }

    #[test]
    fn content_add_by_name_has_its_literal_layout() {
        let request = ContentRequest::watch("live/a");
        let bytes = request.to_packet().unwrap().finish();
        let expected: Vec<u8> = [
            &[0x10, 0, 0, 0, 0, 0, 0, 0][..],
            &[0x02, 0x01, 7, 0, 0, 0],
            b"live/a\0",
            &[0x22, 0x00, 4, 0, 0, 0, 1, 0, 0, 0],
        ]
        .concat();
        assert_eq!(bytes, expected);
        let packet = ControlPacket::decode(&bytes).unwrap();
        assert_eq!(ContentRequest::from_packet(&packet), Ok(request));
    }

    #[test]
    fn content_add_by_uuid_is_the_reference_form() {
        let request = ContentRequest {
            target: ContentTarget::Uuid {
                cluster: Guuid::new(1, 2),
                content: Guuid::new(3, 4),
            },
            flags: ContentFlags::STREAMING_OUT,
            start: None,
            quality: None,
            relay: false,
            key_only: false,
        };
        let bytes = request.to_packet().unwrap().finish();
        let reference = ContentAdd {
            cluster: Guuid::new(1, 2),
            content: Guuid::new(3, 4),
            flags: ContentFlags::STREAMING_OUT,
        }
        .to_packet()
        .unwrap()
        .finish();
        assert_eq!(bytes, reference);
        let packet = ControlPacket::decode(&bytes).unwrap();
        assert_eq!(ContentRequest::from_packet(&packet), Ok(request));
    }

    #[test]
    fn content_add_by_name_refusals() {
        let decode = |items: &[(u16, &[u8])]| {
            let mut b = ControlBuilder::new(SessionType::ContentAdd);
            for (code, value) in items {
                b.args_mut().put(*code, value).unwrap();
            }
            let bytes = b.finish();
            ContentRequest::from_packet(&ControlPacket::decode(&bytes).unwrap())
        };
        let flags = 1u32.to_le_bytes();
        assert_eq!(
            decode(&[(0x22, &flags)]),
            Err(ProtoError::Missing { what: NAME_LABEL })
        );
        assert_eq!(
            decode(&[(0x0102, b"x\0")]),
            Err(ProtoError::Missing {
                what: labels::SESSION_CONTENT_FLAGS
            })
        );
        assert!(decode(&[(0x0102, b"x"), (0x22, &flags)]).is_err(), "no NUL");
        assert!(decode(&[(0x0102, b"\0"), (0x22, &flags)]).is_err(), "empty");
        assert_eq!(
            decode(&[(0x0102, b"x\0"), (0x0102, b"y\0"), (0x22, &flags)]),
            Err(ProtoError::Duplicate { what: NAME_LABEL })
        );
        assert_eq!(
            decode(&[(0x0102, b"x\0"), (0x22, &flags), (0x0021, &[0; 4])]),
            Err(not_allowed(0x0021))
        );
        let long = [b'a'; 256].iter().chain(b"\0").copied().collect::<Vec<_>>();
        assert!(decode(&[(0x0102, &long), (0x22, &flags)]).is_err());
    }

    fn sample_info() -> ContentInfo {
        ContentInfo {
            content_id: 1,
            flows: Flows::new(LIVE_FLOWS).unwrap(),
            tracks: vec![
                TrackInfo {
                    flow_id: VIDEO_FLOW,
                    codec: "avc1.64001F".into(),
                    config: vec![1, 0x64, 0, 0x1F],
                },
                TrackInfo {
                    flow_id: AUDIO_FLOW,
                    codec: "mp4a.40.2".into(),
                    config: vec![0x12, 0x10],
                },
            ],
            origin: None,
            key: None,
        }
    }

    #[test]
    fn content_update_has_its_literal_layout() {
        let bytes = sample_info().encode().unwrap();
        let expected: Vec<u8> = [
            &[0x12, 0, 0, 0, 0, 0, 0, 0][..],
            &[0x21, 0x00, 4, 0, 0, 0, 1, 0, 0, 0],
            &[0x33, 0x00, 3, 0, 0, 0],
            b"va\0",
            &[0x34, 0x00, 13, 0, 0, 0, 0],
            b"avc1.64001F\0",
            &[0x03, 0x01, 5, 0, 0, 0, 0, 1, 0x64, 0, 0x1F],
            &[0x34, 0x00, 11, 0, 0, 0, 1],
            b"mp4a.40.2\0",
            &[0x03, 0x01, 3, 0, 0, 0, 1, 0x12, 0x10],
        ]
        .concat();
        assert_eq!(bytes, expected);
        assert_eq!(ContentInfo::decode(&bytes), Ok(sample_info()));
        let empty = ContentInfo {
            tracks: vec![],
            ..sample_info()
        };
        assert_eq!(ContentInfo::decode(&empty.encode().unwrap()), Ok(empty));
    }

    #[test]
    fn content_update_may_name_the_signer() {
        let origin = ContentOrigin {
            content: Guuid::new(3, 4),
            algorithm: 0x0A01,
            public_key: vec![7; 32],
        };
        let info = ContentInfo {
            origin: Some(origin.clone()),
            key: Some(ContentKeyGrant {
                epoch: 1,
                key: [9; 32],
            }),
            ..sample_info()
        };
        let bytes = info.encode().unwrap();
        let tail: Vec<u8> = [
            &[0x04, 0x01, 50, 0, 0, 0][..],
            &Guuid::new(3, 4).to_bytes(),
            &[0x01, 0x0A],
            &[7; 32],
        ]
        .concat();
        assert!(bytes.ends_with(&tail), "origin item is last");
        assert_eq!(ContentInfo::decode(&bytes), Ok(info));
    }

    #[test]
    fn content_update_refusals() {
        let mut info = sample_info();
        info.tracks[1].flow_id = 2;
        assert!(info.encode().is_err(), "flow 2 of \"va\" does not exist");
        let mut info = sample_info();
        info.tracks[1].flow_id = 0;
        assert!(info.encode().is_err(), "two tracks on one flow");

        let raw = |items: &[(u16, &[u8])]| {
            let mut b = ControlBuilder::new(SessionType::ContentUpdate);
            for (code, value) in items {
                b.args_mut().put(*code, value).unwrap();
            }
            ContentInfo::decode(&b.finish())
        };
        let id = 1u32.to_le_bytes();
        assert!(raw(&[(0x33, b"va\0")]).is_err(), "no content id");
        assert!(raw(&[(0x21, &id)]).is_err(), "no flows");
        assert!(
            raw(&[(0x21, &id), (0x33, b"va\0"), (0x34, b"\0avc1\0")]).is_err(),
            "a codec without config"
        );
        assert!(
            raw(&[(0x21, &id), (0x33, b"va\0"), (0x0103, &[0, 1])]).is_err(),
            "a config without codec"
        );
        assert!(
            raw(&[(0x21, &id), (0x33, b"va\0"), (0x0103, &[])]).is_err(),
            "an empty config item"
        );
        assert!(raw(&[(0x21, &id), (0x33, b"va\0"), (0x0102, b"x\0")]).is_err());
        assert!(raw(&[(0x21, &id), (0x33, b"va\0")]).is_ok());
    }

    #[test]
    fn frame_message_has_its_literal_layout() {
        let header = FrameHeader {
            flags: FrameFlags::KEYFRAME,
            dts: 0x0102,
            pts: -1,
        };
        let prefix = frame_prefix(5, ContentHeader::new(AUDIO_FLOW, 1), header, 3);
        let expected: Vec<u8> = [
            &[b'A', 0, b'c', 0, 5, 0, 0, 0, 0, 0, 0, 0, 31, 0, 0, 0][..],
            &[1, 0, 0, 0, 1, 0, 0, 0],
            &[0x01, 0, 0, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0],
            &[0xFF; 8],
        ]
        .concat();
        assert_eq!(prefix.to_vec(), expected);
        let mut message = prefix.to_vec();
        message.extend_from_slice(b"aac");
        let head = check_header(message[..16].try_into().unwrap(), StreamKind::Group).unwrap();
        assert_eq!(head.packet_len(), message.len());
        let parts = decode_frame(&message[16..]).unwrap();
        assert_eq!(parts.content, ContentHeader::new(AUDIO_FLOW, 1));
        assert_eq!(parts.header, header);
        assert_eq!((parts.signature, parts.frame), (None, &b"aac"[..]));
    }

    #[test]
    fn a_signed_frame_message_carries_its_signature_before_the_frame() {
        let header = FrameHeader {
            flags: FrameFlags::KEYFRAME,
            dts: 1,
            pts: 2,
        };
        let content = ContentHeader::new(VIDEO_FLOW, 1);
        let prefix = signed_frame_prefix(9, content, header, &[0xAB; 3], 4).unwrap();
        assert_eq!(prefix.len(), FRAME_PREFIX_SIZE + 2 + 3);
        assert_eq!(prefix[16 + 8], 0x05, "KEYFRAME | SIGNED");
        assert_eq!(&prefix[FRAME_PREFIX_SIZE..], &[3, 0, 0xAB, 0xAB, 0xAB]);
        let mut message = prefix;
        message.extend_from_slice(b"avcc");
        let head = check_header(message[..16].try_into().unwrap(), StreamKind::Group).unwrap();
        assert_eq!(head.packet_len(), message.len());
        let parts = decode_frame(&message[16..]).unwrap();
        assert_eq!(
            parts.header.flags,
            FrameFlags::KEYFRAME | FrameFlags::SIGNED
        );
        assert_eq!(parts.signature, Some(&[0xAB; 3][..]));
        assert_eq!(parts.frame, b"avcc");
    }

    #[test]
    fn frame_header_refusals() {
        let good = FrameHeader::default().to_bytes();
        assert!(FrameHeader::decode(&good[..19]).is_err());
        let mut bad = good;
        bad[0] = 0x10;
        assert!(FrameHeader::decode(&bad).is_err(), "undefined flag");
        let mut bad = good;
        bad[2] = 1;
        assert!(FrameHeader::decode(&bad).is_err(), "padding");
        let both = FrameFlags::KEYFRAME | FrameFlags::DISCONTINUITY;
        assert_eq!(both.bits(), 3);
        let (h, rest) = FrameHeader::decode(&good).unwrap();
        assert_eq!((h, rest), (FrameHeader::default(), &[][..]));
    }
}
