//! The native AVRS client (what `avrs play` and the tests use): connect,
//! open a signed session bound to the connection, watch a content, and get
//! its frames back in order.

use super::groups::{Assembled, Assembler, AssemblerStats, Pacing};
use super::media::{media_frame, track_configs};
use super::session::{ClientEvent, ClientSession};
use super::unseal::Unsealer;
use super::verify::{CheckStats, ContentCheck};
use super::wire::{ControlWriter, Message, ReadError, read_message, spawn_control_reader};
use anyhow::{Context as _, bail};
pub use avrs_core::live::TrackConfigs;
use avrs_crypto::{Algorithm, SigningKey};
use avrs_media::MediaFrame;
use avrs_proto::Hash32;
use avrs_proto::avrs::Request as _;
use avrs_proto::avrs::cluster::{BalanceRequest, MAX_EXCLUDED};
use avrs_proto::avrs::quic::{
    self, ALPN, CloseCode, ContentControl, ContentInfo, ContentOrigin, ContentRequest, FrameFlags,
    FrameHeader, Quality, SeqCounter, StreamKind,
};
use avrs_proto::avrs::{ContentState, SessionType, SubType};
use bytes::Bytes;
/// What [`endpoint`] makes and [`Session::connect_on`] takes.
pub use quinn::Endpoint;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long a reply to OPEN or CONTENT_ADD may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// After the server says the content ended: how long to wait for group
/// data still on its way, at most, and without news.
const END_GRACE: Duration = Duration::from_secs(2);
const END_IDLE: Duration = Duration::from_millis(250);
/// Messages read from group streams and not yet played.
const GROUP_EVENTS: usize = 64;

/// How to connect.
#[derive(Debug)]
pub struct ClientOptions {
    /// The session key; a fresh Ed25519 key when `None`.
    pub key: Option<SigningKey>,
    pub connect_timeout: Duration,
    /// The ALPN offered (tests offer a wrong one).
    pub alpn: Vec<u8>,
    /// Bytes the server may send ahead of what this client has read, per
    /// group stream (twice that per connection). Small values make a slow
    /// reader look like a slow network.
    pub receive_window: u32,
    /// Identities (key ids) of the content signers to believe; empty: any
    /// signer the server announces (frames are still checked against it).
    pub trusted_signers: Vec<[u8; 32]>,
    /// Check every frame's signature (players do; a load generator that
    /// stands in for many viewers on one machine may not).
    pub verify_signatures: bool,
    /// An access token sent in the OPEN (`[auth] play = token`).
    pub token: Option<String>,
    /// How the server's certificate is checked, for `server_name`. The
    /// default, [`super::tls::ServerTrust::Insecure`], accepts it unchecked
    /// (connections inside a cluster; the session is still signed and
    /// bound to the connection); `avrs play` asks for more.
    pub server_trust: super::tls::ServerTrust,
    /// The name (or IP address) the certificate must be valid for.
    pub server_name: String,
    /// Ask in the OPEN for the session this key had (its slots), kept by
    /// the server for `reconnect_timeout` after a lost connection.
    pub resume: bool,
    /// Open SEALED frames (players); a relay forwards them unopened and
    /// holds no key.
    pub open_sealed: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            key: None,
            connect_timeout: Duration::from_secs(5),
            alpn: ALPN.to_vec(),
            receive_window: 4 * 1024 * 1024,
            trusted_signers: Vec::new(),
            verify_signatures: true,
            token: None,
            server_trust: super::tls::ServerTrust::Insecure,
            server_name: "avrs".into(),
            resume: false,
            open_sealed: true,
        }
    }
}

mod book_sync;
mod connect;
mod key_session;
mod reconnect;
pub use connect::{
    binding, dial, dial_on, endpoint, endpoint_with_receive_buffer, open_request,
    resuming_open_request,
};
use key_session::{KeyOptions, KeySession};
pub use reconnect::Reconnected;

/// An open session.
#[derive(Debug)]
pub struct Session {
    endpoint: quinn::Endpoint,
    conn: quinn::Connection,
    control: ControlWriter,
    messages: mpsc::Receiver<Result<Message, ReadError>>,
    seq: SeqCounter,
    state: ClientSession,
    /// The session id: the key's id.
    pub id: Hash32,
    /// The server accepted the OPEN.
    opened: bool,
    /// The slots a resumed session got back (`None`: a new session).
    pub resumed: Option<Vec<u32>>,
    /// Content signers to believe ([`ClientOptions::trusted_signers`]).
    trusted_signers: Vec<[u8; 32]>,
    verify_signatures: bool,
    open_sealed: bool,
    /// For a key-only session at a content's origin (played via a relay).
    key_options: KeyOptions,
}

impl Session {
    /// Connects and sends a session OPEN signed with `options.key`. The reply
    /// is not awaited: a CONTENT_ADD can follow in the same flight, saving a
    /// round trip before the first frame ([`Self::watch`] checks both
    /// replies; [`Self::opened`] waits for this one alone).
    pub async fn connect(addr: SocketAddr, options: ClientOptions) -> anyhow::Result<Self> {
        let (endpoint, conn) = dial(addr, &options).await?;
        Self::open(endpoint, conn, options).await
    }

    /// Like [`Self::connect`], on an endpoint shared with other sessions
    /// (made by [`endpoint`], whose configuration applies: of `options`,
    /// only the key, the connect timeout and the trusted signers are used).
    /// Drop the session or its [`Watch`] to end it: [`Watch::close`] would
    /// wait for the whole endpoint to go idle.
    pub async fn connect_on(
        endpoint: &quinn::Endpoint,
        addr: SocketAddr,
        options: ClientOptions,
    ) -> anyhow::Result<Self> {
        let conn = dial_on(endpoint, addr, &options).await?;
        Self::open(endpoint.clone(), conn, options).await
    }

    /// Opens the control stream on `conn` and sends the signed OPEN.
    async fn open(
        endpoint: quinn::Endpoint,
        conn: quinn::Connection,
        options: ClientOptions,
    ) -> anyhow::Result<Self> {
        let key_options = KeyOptions::of(&options);
        let key = match options.key {
            Some(key) => key,
            None => SigningKey::generate(Algorithm::Ed25519)?,
        };
        let (send, recv) = conn.open_bi().await.context("open the control stream")?;
        let mut session = Self {
            endpoint,
            conn: conn.clone(),
            control: ControlWriter::new(send),
            messages: spawn_control_reader(recv),
            seq: SeqCounter::default(),
            state: ClientSession::default(),
            id: key.id(),
            opened: false,
            resumed: None,
            trusted_signers: options.trusted_signers,
            verify_signatures: options.verify_signatures,
            open_sealed: options.open_sealed,
            key_options,
        };
        let open = resuming_open_request(
            &key,
            binding(&conn)?,
            options.token.as_deref(),
            options.resume,
        )?;
        session.send(SessionType::Open, &open).await?;
        Ok(session)
    }

    /// Waits for the server to accept the OPEN.
    pub async fn opened(&mut self) -> anyhow::Result<()> {
        while !self.opened {
            let event = self.next_event().await?;
            self.expect_open(event)?;
        }
        Ok(())
    }

    /// Takes the OPEN reply; any other event is unexpected before it.
    fn expect_open(&mut self, event: ClientEvent) -> anyhow::Result<()> {
        match event {
            ClientEvent::Opened => {
                self.opened = true;
                Ok(())
            }
            ClientEvent::Resumed { slots } => {
                self.opened = true;
                self.resumed = Some(slots);
                Ok(())
            }
            ClientEvent::Refused { reply, .. } => {
                bail!("session OPEN refused: {} {}", reply.code, reply.text)
            }
            other => bail!("unexpected answer to OPEN: {other:?}"),
        }
    }

    pub fn connection(&self) -> &quinn::Connection {
        &self.conn
    }

    /// Sends a session request of `kind` and expects its reply later.
    pub async fn send(&mut self, kind: SessionType, data: &[u8]) -> anyhow::Result<()> {
        self.control
            .write(SubType::Session, data)
            .await
            .context("send on the control stream")?;
        self.state.sent(kind);
        Ok(())
    }

    /// The next thing the server says on the control stream.
    pub async fn next_event(&mut self) -> anyhow::Result<ClientEvent> {
        let message = tokio::time::timeout(REPLY_TIMEOUT, self.messages.recv())
            .await
            .map_err(|_| anyhow::anyhow!("no reply from the server within 5 s"))?;
        self.event(message)
    }

    fn event(
        &mut self,
        message: Option<Result<Message, ReadError>>,
    ) -> anyhow::Result<ClientEvent> {
        let message = match message {
            Some(Ok(message)) => message,
            Some(Err(err)) => bail!("control stream: {err}{}", self.close_reason()),
            None => bail!("the server ended the session{}", self.close_reason()),
        };
        self.seq.accept(message.header.seq_id)?;
        Ok(self.state.handle(message.subtype, &message.data)?)
    }

    fn close_reason(&self) -> String {
        match self.conn.close_reason() {
            Some(reason) => format!(" ({reason})"),
            None => String::new(),
        }
    }

    /// BALANCE_REQUEST: the server of the cluster this node picks for the
    /// live content `name`, skipping the members in `exclude` (servers the
    /// client could not use). Returns the server's id and QUIC address.
    pub async fn balance(
        &mut self,
        name: &str,
        exclude: &[Hash32],
    ) -> anyhow::Result<(Hash32, SocketAddr)> {
        let request = BalanceRequest {
            id: None,
            content_id: Some(crate::cluster::content_key(name)),
            exclude: exclude.iter().take(MAX_EXCLUDED).copied().collect(),
        };
        let packet = request.to_packet()?.finish();
        let answered = self
            .cluster_exchange(&packet, ClientSession::sent_balance, |event| match event {
                ClientEvent::Balanced(answer) => Some(answer),
                _ => None,
            })
            .await?;
        let answer = answered.map_err(|reply| {
            anyhow::anyhow!("no server for {name}: {} {}", reply.code, reply.text)
        })?;
        let quic = answer
            .service
            .socket(answer.service.quic)
            .ok_or_else(|| anyhow::anyhow!("the server chosen has no QUIC listener"))?;
        Ok((answer.member, quic))
    }

    /// Sends a cluster request (`mark_sent` tells the session what answer to
    /// expect) and waits for the event `answer` picks, or a refusal.
    pub(crate) async fn cluster_exchange<T>(
        &mut self,
        packet: &[u8],
        mark_sent: impl FnOnce(&mut ClientSession),
        mut answer: impl FnMut(ClientEvent) -> Option<T>,
    ) -> anyhow::Result<Result<T, avrs_proto::avrs::RetCodePacket>> {
        self.control
            .write(SubType::Cluster, packet)
            .await
            .context("send on the control stream")?;
        mark_sent(&mut self.state);
        loop {
            let event = self.next_event().await?;
            if !self.opened {
                self.expect_open(event)?;
                continue;
            }
            if let ClientEvent::Refused { reply, .. } = event {
                return Ok(Err(reply));
            }
            if let Some(found) = answer(event) {
                return Ok(Ok(found));
            }
        }
    }

    /// Watches the live content `name` (`live/NAME`).
    pub async fn watch(self, name: &str) -> anyhow::Result<Watch> {
        self.watch_request(ContentRequest::watch(name)).await
    }

    /// Watches the VoD `vod/ID` from `start` (90 kHz ticks), wishing for
    /// `quality`.
    pub async fn watch_vod(
        self,
        name: &str,
        start: u64,
        quality: Option<Quality>,
    ) -> anyhow::Result<Watch> {
        let request = ContentRequest {
            start: Some(start),
            quality,
            ..ContentRequest::watch(name)
        };
        self.watch_request(request).await
    }

    /// Sends a CONTENT_ADD and waits for its reply.
    pub async fn watch_request(mut self, request: ContentRequest) -> anyhow::Result<Watch> {
        // Accept group streams from now on: the first may beat the reply.
        let (accept, groups) = accept_groups_of(&self.conn);
        let Added {
            content_id,
            rendition,
            info,
            route,
            key_from,
        } = match self.add_content(&request).await {
            Ok(added) => added,
            Err(err) => {
                accept.abort();
                return Err(err);
            }
        };
        let check = match self.verify_signatures {
            true => ContentCheck::new(std::mem::take(&mut self.trusted_signers)),
            false => ContentCheck::disabled(),
        };
        let mut unsealer = Unsealer::from_info(info.as_ref())?;
        let key_session = match (key_from, &request.target) {
            (Some(origin), quic::ContentTarget::Name(name)) if self.open_sealed => {
                match KeySession::open(origin, &self.key_options, name, &mut unsealer).await {
                    Ok(keys) => Some(keys),
                    Err(err) => {
                        accept.abort();
                        return Err(err);
                    }
                }
            }
            _ => None,
        };
        Ok(Watch {
            key_session,
            check,
            unsealer,
            origin: None,
            session: self,
            request,
            route,
            last_seq: None,
            skip_through: None,
            content_id,
            rendition,
            info,
            groups,
            accept,
            assembler: Assembler::new(match rendition {
                Some(_) => Pacing::Vod,
                None => Pacing::Live,
            }),
            configs: None,
            gap: false,
            end: None,
            draining: false,
        })
    }
}

impl Session {
    /// Sends a CONTENT_ADD of `request` and waits for its reply: the slot
    /// id, the VoD rendition, and the content's description. Group streams
    /// must already be accepted ([`accept_groups_of`]).
    async fn add_content(&mut self, request: &ContentRequest) -> anyhow::Result<Added> {
        let name = match &request.target {
            quic::ContentTarget::Name(name) => name.clone(),
            quic::ContentTarget::Uuid { content, .. } => content.to_string(),
        };
        let packet = request.to_packet()?.finish();
        self.send(SessionType::ContentAdd, &packet).await?;
        let mut info = None;
        loop {
            let event = self.next_event().await?;
            if !self.opened {
                self.expect_open(event)?;
                continue;
            }
            match event {
                ClientEvent::Info(i) => info = Some(i),
                ClientEvent::Watching {
                    content_id,
                    rendition,
                    route,
                    key_from,
                } => {
                    return Ok(Added {
                        content_id,
                        rendition,
                        info,
                        route,
                        key_from,
                    });
                }
                ClientEvent::Refused { reply, .. } => {
                    return Err(WatchRefused {
                        name: name.to_owned(),
                        reply,
                    }
                    .into());
                }
                _ => {}
            }
        }
    }
}

/// A CONTENT_ADD the server answered with a refusal: callers that act on
/// the code (a relay retrying a parent) find it with `downcast_ref`.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {name}: {} {}", reply.code, reply.text)]
pub struct WatchRefused {
    pub name: String,
    pub reply: avrs_proto::avrs::RetCodePacket,
}

/// A CONTENT_ADD accepted.
struct Added {
    content_id: u32,
    rendition: Option<u32>,
    info: Option<ContentInfo>,
    route: Option<Vec<Hash32>>,
    key_from: Option<SocketAddr>,
}

/// Accepts `conn`'s group streams into a channel. Small: a reader that
/// stops reading should soon stop the QUIC window too, so the server sees
/// it lag and drops old groups.
fn accept_groups_of(conn: &quinn::Connection) -> (JoinHandle<()>, mpsc::Receiver<StreamEvent>) {
    let (groups_tx, groups) = mpsc::channel(GROUP_EVENTS);
    (tokio::spawn(accept_groups(conn.clone(), groups_tx)), groups)
}

/// A frame played back, in content order.
#[derive(Debug, Clone)]
pub struct PlayedFrame {
    /// Position in the content (gaps are frames this viewer missed).
    pub seq: u64,
    pub media: MediaFrame,
    /// The configurations that decode it (the same `Arc` until they change).
    pub configs: Arc<TrackConfigs>,
    /// The publisher came back just before this frame.
    pub discontinuity: bool,
    /// Frames are missing just before this one (a dropped group).
    pub after_gap: bool,
    /// What a relay forwards unchanged: the signature (verified when the
    /// watch checks signatures) and who made it.
    pub signed: Option<SignedBy>,
    /// `media.data` is still sealed (a watch that does not open SEALED
    /// frames: a relay's).
    pub sealed: bool,
}

/// A played frame's signature and its signer, as the node sent them.
#[derive(Debug, Clone)]
pub struct SignedBy {
    pub origin: Arc<ContentOrigin>,
    pub signature: Bytes,
}

/// What a group stream carries.
#[derive(Debug, Clone)]
pub enum GroupItem {
    Info(ContentInfo),
    Frame {
        flow_id: u8,
        content_id: u32,
        header: FrameHeader,
        signature: Option<Bytes>,
        data: Bytes,
    },
}

/// What the stream readers report.
#[derive(Debug)]
enum StreamEvent {
    /// A group stream was accepted (sent before any of its items, and
    /// before any item of a later stream).
    Opened {
        stream: u64,
    },
    Item {
        stream: u64,
        seq: u64,
        item: GroupItem,
    },
    End {
        stream: u64,
        complete: bool,
    },
}

/// A content being watched.
#[derive(Debug)]
pub struct Watch {
    session: Session,
    /// What was asked for: asked again when a reconnect finds no session.
    request: ContentRequest,
    /// A relay's grant (ROUTE_ADD answered): origin first, parent last.
    pub route: Option<Vec<Hash32>>,
    /// Where the keys come from when a relay serves a sealed content.
    key_session: Option<KeySession>,
    /// The position of the newest frame played (live).
    last_seq: Option<u64>,
    /// After a resume: frames up to here were played already (live).
    skip_through: Option<u64>,
    content_id: u32,
    /// The rendition a VoD is served in.
    pub rendition: Option<u32>,
    /// What the server said about the content when it was added.
    pub info: Option<ContentInfo>,
    groups: mpsc::Receiver<StreamEvent>,
    accept: JoinHandle<()>,
    assembler: Assembler<GroupItem>,
    configs: Option<Arc<TrackConfigs>>,
    gap: bool,
    /// Signature checks of the frames.
    check: ContentCheck,
    /// Opens SEALED frames of an ENCRYPTED content.
    unsealer: Unsealer,
    /// The signer the newest group's CONTENT_UPDATE named.
    origin: Option<Arc<ContentOrigin>>,
    /// After the end notice: (hard deadline, idle deadline).
    end: Option<(Instant, Instant)>,
    draining: bool,
}

impl Watch {
    pub fn content_id(&self) -> u32 {
        self.content_id
    }

    /// Pauses, resumes or seeks this (VoD) content: a CONTENT_UPDATE. Its
    /// reply is read by [`Self::next_frame`] (a refusal is an error there).
    pub async fn control(
        &mut self,
        state: Option<ContentState>,
        seek: Option<u64>,
    ) -> anyhow::Result<()> {
        let control = ContentControl {
            content_id: self.content_id,
            state,
            seek,
        };
        let packet = control.to_packet()?.finish();
        self.session.send(SessionType::ContentUpdate, &packet).await
    }

    pub fn stats(&self) -> AssemblerStats {
        self.assembler.stats
    }

    /// Frames verified and dropped as corrupted so far.
    pub fn check_stats(&self) -> CheckStats {
        self.check.stats
    }

    pub fn connection(&self) -> &quinn::Connection {
        &self.session.conn
    }

    /// The next frame in order; `None` once the content has ended.
    pub async fn next_frame(&mut self) -> anyhow::Result<Option<PlayedFrame>> {
        loop {
            if let Some(frame) = self.take_ready()? {
                return Ok(Some(frame));
            }
            if self.draining {
                return Ok(None);
            }
            let deadline = self.end.map(|(hard, idle)| hard.min(idle));
            tokio::select! {
                event = self.groups.recv() => match event {
                    Some(event) => self.on_stream(event),
                    None if self.end.is_some() => self.draining = true,
                    None => bail!("the connection closed{}", self.session.close_reason()),
                },
                message = self.session.messages.recv() => {
                    let event = self.session.event(message)?;
                    self.on_control(event)?;
                }
                Some(message) = key_message(&mut self.key_session) => self.on_key_message(message),
                _ = sleep_until(deadline), if deadline.is_some() => self.on_end_deadline(),
            }
        }
    }

    fn on_control(&mut self, event: ClientEvent) -> anyhow::Result<()> {
        match event {
            ClientEvent::Ended { content_id } if content_id == self.content_id => {
                let now = Instant::now();
                self.end = Some((now + END_GRACE, now + END_IDLE));
            }
            ClientEvent::Refused { request, reply } => {
                bail!("{request} refused: {} {}", reply.code, reply.text)
            }
            // The content's key rotated: the next epoch's key.
            ClientEvent::Info(info) if info.content_id == self.content_id => {
                if let Some(grant) = &info.key {
                    self.unsealer.add_key(grant)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A sealed frame of an epoch newer than any key held: its key was
    /// sent on the control stream before it, maybe read but not handled
    /// yet. Handles what the control stream has already delivered.
    fn catch_up_keys(&mut self) -> anyhow::Result<()> {
        while let Ok(message) = self.session.messages.try_recv() {
            let event = self.session.event(Some(message))?;
            self.on_control(event)?;
        }
        while let Some(message) = self
            .key_session
            .as_mut()
            .and_then(|keys| keys.session.messages.try_recv().ok())
        {
            self.on_key_message(message);
        }
        Ok(())
    }

    /// A message from the origin's key session: a rotated key. A broken key
    /// session is dropped (frames of later epochs will not open).
    fn on_key_message(&mut self, message: Result<Message, ReadError>) {
        let Some(keys) = &mut self.key_session else {
            return;
        };
        let handled = keys
            .session
            .event(Some(message))
            .and_then(|event| keys.on_event(event, &mut self.unsealer));
        if let Err(err) = handled {
            tracing::warn!(%err, "native: the origin's key session ended");
            self.key_session = None;
        }
    }

    /// Frames opened per content key epoch (ENCRYPTED contents).
    pub fn opened_per_epoch(&self) -> &std::collections::BTreeMap<u32, u64> {
        &self.unsealer.opened
    }

    fn on_stream(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Opened { stream } => self.assembler.opened(stream),
            StreamEvent::Item { stream, seq, item } => self.assembler.push(stream, seq, item),
            StreamEvent::End { stream, complete } => self.assembler.end(stream, complete),
        }
        if let Some((_, idle)) = &mut self.end {
            *idle = Instant::now() + END_IDLE;
        }
    }

    fn on_end_deadline(&mut self) {
        let Some((hard, idle)) = &mut self.end else {
            return;
        };
        let now = Instant::now();
        if now >= *hard || self.assembler.open_streams() == 0 {
            self.draining = true;
        } else {
            *idle = now + END_IDLE;
        }
    }

    fn take_ready(&mut self) -> anyhow::Result<Option<PlayedFrame>> {
        loop {
            let next = if self.draining {
                self.assembler.drain()
            } else {
                self.assembler.pop()
            };
            let Some(next) = next else {
                return Ok(None);
            };
            let positioned = match next {
                Assembled::Gap => {
                    self.gap = true;
                    continue;
                }
                Assembled::Item(positioned) => positioned,
            };
            match positioned.item {
                GroupItem::Info(info) => {
                    self.check.on_info(&info)?;
                    if self.origin.as_deref() != info.origin.as_ref() {
                        self.origin = info.origin.clone().map(Arc::new);
                    }
                    let configs = track_configs(&info)?;
                    if self.configs.as_deref() != Some(&configs) {
                        self.configs = Some(Arc::new(configs));
                    }
                }
                GroupItem::Frame {
                    flow_id,
                    content_id,
                    header,
                    signature,
                    data,
                } => {
                    if content_id != self.content_id {
                        continue;
                    }
                    let seq = positioned.seq;
                    // Resumed: the newest group may repeat frames played.
                    if self.skip_through.is_some_and(|through| seq <= through) {
                        continue;
                    }
                    if !self
                        .check
                        .admit(seq, flow_id, header, signature.as_deref(), &data)
                    {
                        self.gap = true;
                        continue;
                    }
                    let signed = match (&self.origin, &signature) {
                        (Some(origin), Some(signature)) => Some(SignedBy {
                            origin: origin.clone(),
                            signature: signature.clone(),
                        }),
                        _ => None,
                    };
                    let sealed = header.flags.contains(FrameFlags::SEALED);
                    if sealed && !self.session.open_sealed {
                        self.last_seq = Some(seq);
                        return Ok(Some(self.played(seq, flow_id, header, data, signed, true)?));
                    }
                    if self.unsealer.needs_newer_key(header, &data) {
                        self.catch_up_keys()?;
                        if self.unsealer.needs_newer_key(header, &data) {
                            tracing::warn!(seq, "native: sealed frame of an unknown key epoch");
                            self.gap = true;
                            continue;
                        }
                    }
                    let data = match self.unsealer.open(seq, flow_id, header, data)? {
                        Ok(clear) => clear,
                        Err(err) => {
                            // Signed but not openable: counted as corrupted.
                            self.check.on_unopenable(&err);
                            self.gap = true;
                            continue;
                        }
                    };
                    self.last_seq = Some(seq);
                    return Ok(Some(
                        self.played(seq, flow_id, header, data, signed, false)?,
                    ));
                }
            }
        }
    }

    /// A frame ready to play (`sealed`: its bytes were left sealed).
    fn played(
        &mut self,
        seq: u64,
        flow_id: u8,
        header: FrameHeader,
        data: Bytes,
        signed: Option<SignedBy>,
        sealed: bool,
    ) -> anyhow::Result<PlayedFrame> {
        let Some(configs) = self.configs.clone() else {
            bail!("a frame came before its group's CONTENT_UPDATE");
        };
        Ok(PlayedFrame {
            seq,
            media: media_frame(flow_id, header, data)?,
            configs,
            discontinuity: header.flags.contains(FrameFlags::DISCONTINUITY),
            after_gap: std::mem::take(&mut self.gap),
            signed,
            sealed,
        })
    }

    /// Ends the session cleanly and lets the server hear about it.
    pub async fn close(self) {
        self.accept.abort();
        self.session
            .conn
            .close(CloseCode::NoError.code().into(), b"done");
        let _ =
            tokio::time::timeout(Duration::from_secs(1), self.session.endpoint.wait_idle()).await;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.accept.abort();
        self.session
            .conn
            .close(CloseCode::NoError.code().into(), b"done");
    }
}

/// The next control message of the key session, if there is one.
async fn key_message(keys: &mut Option<KeySession>) -> Option<Result<Message, ReadError>> {
    match keys {
        Some(keys) => keys.session.messages.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Accepts group streams and reads each in its own task.
async fn accept_groups(conn: quinn::Connection, events: mpsc::Sender<StreamEvent>) {
    while let Ok(recv) = conn.accept_uni().await {
        let stream = u64::from(recv.id());
        if events.send(StreamEvent::Opened { stream }).await.is_err() {
            return;
        }
        tokio::spawn(read_group(recv, events.clone()));
    }
}

async fn read_group(mut recv: quinn::RecvStream, events: mpsc::Sender<StreamEvent>) {
    let stream = u64::from(recv.id());
    let complete = loop {
        let message = match read_message(&mut recv, StreamKind::Group).await {
            Ok(Some(message)) => message,
            Ok(None) => break true,
            Err(ReadError::Reset(_)) => break false,
            Err(err) => {
                tracing::debug!(%err, "native: group stream unreadable");
                break false;
            }
        };
        let item = match decode_item(&message) {
            Ok(item) => item,
            Err(err) => {
                tracing::warn!(%err, "native: bad message on a group stream");
                let _ = recv.stop(quic::RESET_CANCELLED.into());
                break false;
            }
        };
        let seq = message.header.seq_id;
        if events
            .send(StreamEvent::Item { stream, seq, item })
            .await
            .is_err()
        {
            return;
        }
    };
    let _ = events.send(StreamEvent::End { stream, complete }).await;
}

fn decode_item(message: &Message) -> anyhow::Result<GroupItem> {
    Ok(match message.subtype {
        SubType::Session => GroupItem::Info(ContentInfo::decode(&message.data)?),
        SubType::Content => {
            let parts = quic::decode_frame(&message.data)?;
            GroupItem::Frame {
                flow_id: parts.content.flow_id,
                content_id: parts.content.content_id,
                header: parts.header,
                signature: parts.signature.map(|s| message.data.slice_ref(s)),
                data: message.data.slice_ref(parts.frame),
            }
        }
        other => bail!("sub-type {other} on a group stream"),
    })
}
