//! One native connection: handshake checks, the control stream driven
//! through [`ServerSession`], and the viewers it starts.

use super::content_keys::Rotation;
use super::resume::{Claim, Handover};
use super::session::{ServerSession, Step, content_added, content_not_found, ended_notice};
use super::sessions::{CutOff, SessionHandle, SessionStats, next_cut_off};
use super::signing::ContentSigner;
use super::slots::SlotTask;
use super::viewer::Viewer;
use super::vod::{Command, VodPlayer};
use super::wire::{ControlReader, ControlWriter, ReadError};
use crate::auth::{self, LiveGrant};
use crate::context::NodeContext;
use avrs_core::live::LiveContent;
use avrs_proto::avrs::cluster::BalanceRequest;
use avrs_proto::avrs::quic::{
    ALPN, BINDING_SIZE, CloseCode, ContentControl, ContentKeyGrant, ContentRequest, ContentTarget,
    EXPORTER_LABEL, SeqCounter,
};
use avrs_proto::avrs::{
    ContentFlags, ContentState, Request, RetCode, RetCodePacket, SessionType, SubType,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

mod cut_off;
mod resuming;

/// The text of a ROUTE_ADD refused because the asking member is not (yet)
/// a live member here; relays that just joined wait and ask again.
pub const ROUTE_ADD_NOT_A_MEMBER: &str = "ROUTE_ADD_NOT_A_MEMBER";

/// The TLS handshake must be over within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// The control stream and a successful OPEN must come within this.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a last reply may take to reach the client before closing.
const LAST_REPLY_WAIT: Duration = Duration::from_secs(1);

/// Serves one incoming connection to its end. Every failure stays inside
/// this connection: it is logged, answered when possible, and closed.
///
/// `incoming` comes boxed: an async fn keeps room for its arguments for
/// its whole life, and a `quinn::Incoming` (~2.3 KiB) would stay in every
/// connection's task; the box is freed once the handshake is done.
pub async fn serve_connection(
    incoming: Box<quinn::Incoming>,
    context: Arc<NodeContext>,
    shutdown: CancellationToken,
) {
    let remote = incoming.remote_address();
    let Some(conn) = handshake(incoming, remote).await else {
        return;
    };
    let Some(binding) = checked_binding(&conn, remote) else {
        return;
    };
    let control = tokio::select! {
        _ = shutdown.cancelled() => return,
        control = tokio::time::timeout(OPEN_TIMEOUT, conn.accept_bi()) => control,
    };
    let (send, recv) = match control {
        Ok(Ok(streams)) => streams,
        Ok(Err(err)) => {
            tracing::debug!(%remote, %err, "native: connection ended before a control stream");
            return;
        }
        Err(_) => {
            close(&conn, CloseCode::Timeout, "no control stream in time");
            tracing::info!(%remote, "native: no control stream in time");
            return;
        }
    };
    // Replies go before any group data.
    let _ = send.set_priority(i32::MAX);
    let listed = context.native_sessions.register(remote);
    let cut_offs = context.native_sessions.cut_offs();
    let mut connection = Connection {
        cut_offs,
        stats: listed.stats.clone(),
        listed,
        requests: HashMap::new(),
        claim: None,
        routes: HashMap::new(),
        route_del: CancellationToken::new(),
        context,
        conn: conn.clone(),
        remote,
        control: ControlWriter::new(send),
        session: ServerSession::new(binding),
        viewers: HashMap::new(),
        sealed: HashMap::new(),
        grant: None,
    };
    // Counted while served; every return above is before the session.
    let context = connection.context.clone();
    let metrics = &context.metrics;
    metrics.native_connections.fetch_add(1, Ordering::Relaxed);
    connection.run(recv, shutdown).await;
    connection.park_if_lost();
    for (_, viewer) in connection.viewers.drain() {
        viewer.stop();
    }
    metrics.native_connections.fetch_sub(1, Ordering::Relaxed);
}

/// The TLS handshake, within [`HANDSHAKE_TIMEOUT`].
async fn handshake(
    incoming: Box<quinn::Incoming>,
    remote: SocketAddr,
) -> Option<quinn::Connection> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, *incoming).await {
        Ok(Ok(conn)) => Some(conn),
        Ok(Err(err)) => {
            tracing::info!(%remote, %err, "native: handshake failed");
            None
        }
        Err(_) => {
            tracing::info!(%remote, "native: handshake timed out");
            None
        }
    }
}

/// ALPN must be ours (rustls already refuses other offers; a client that
/// offers none is caught here); then the connection's binding value.
fn checked_binding(conn: &quinn::Connection, remote: SocketAddr) -> Option<[u8; BINDING_SIZE]> {
    let alpn = conn
        .handshake_data()
        .and_then(|data| data.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|data| data.protocol);
    if alpn.as_deref() != Some(ALPN) {
        close(conn, CloseCode::WrongProtocol, "ALPN avrs/1 required");
        tracing::warn!(%remote, "native: refused a connection without ALPN avrs/1");
        return None;
    }
    let mut binding = [0u8; BINDING_SIZE];
    if let Err(err) = conn.export_keying_material(&mut binding, EXPORTER_LABEL, &[]) {
        close(conn, CloseCode::WrongProtocol, "no TLS exporter");
        tracing::warn!(%remote, ?err, "native: no TLS exporter on the connection");
        return None;
    }
    Some(binding)
}

fn close(conn: &quinn::Connection, code: CloseCode, reason: &str) {
    conn.close(code.code().into(), reason.as_bytes());
}

/// The connection went away without the session being ended: timed out,
/// reset, or closed by the client with an error code (a client that is
/// done closes with NO_ERROR or sends CLOSE). A connection this node closed
/// (refusal, revocation, shutdown, handover) is not lost.
fn lost(conn: &quinn::Connection) -> bool {
    use quinn::ConnectionError as E;
    match conn.close_reason() {
        Some(E::TimedOut | E::Reset | E::ConnectionClosed(_)) => true,
        Some(E::ApplicationClosed(close)) => close.error_code != CloseCode::NoError.code().into(),
        _ => false,
    }
}

/// The next handover request of the connection's claim, if it has one.
async fn next_handover(claim: &mut Option<Claim>) -> Option<Handover> {
    match claim {
        Some(claim) => claim.handovers.recv().await,
        None => std::future::pending().await,
    }
}

struct Connection {
    context: Arc<NodeContext>,
    conn: quinn::Connection,
    remote: SocketAddr,
    control: ControlWriter,
    session: ServerSession,
    viewers: HashMap<u32, SlotTask>,
    /// What each slot was added with, to restore it on resume.
    requests: HashMap<u32, ContentRequest>,
    /// This connection's hold on its session id (once open).
    claim: Option<Claim>,
    /// Relay slots granted by ROUTE_ADD (this node feeds a member).
    routes: HashMap<u32, crate::cluster::routes::ChildRoute>,
    /// Cancelled by ROUTE_DEL: the connection of a child relay closes.
    route_del: CancellationToken,
    /// The session as `GET /api/admin/sessions` lists it.
    listed: SessionHandle,
    /// This session's figures (the listed ones; carried over on resume).
    stats: Arc<SessionStats>,
    /// Slots of ENCRYPTED contents: content id → the content, to pass on
    /// its key when it rotates.
    sealed: HashMap<u32, Arc<LiveContent>>,
    /// The session token's grant, rechecked every `heartbeat_interval` and
    /// on revocation; when it ends, so does the session.
    grant: Option<LiveGrant>,
    /// Members cut off here; the session ends when its signer is one.
    cut_offs: tokio::sync::broadcast::Receiver<CutOff>,
}

impl Connection {
    async fn run(&mut self, recv: quinn::RecvStream, shutdown: CancellationToken) {
        let mut messages = ControlReader::new(recv);
        let (ended_tx, mut ended) = mpsc::unbounded_channel();
        let mut seq = SeqCounter::default();
        let mut rotations = self.context.content_keys.subscribe();
        let open_deadline = tokio::time::sleep(OPEN_TIMEOUT);
        tokio::pin!(open_deadline);
        loop {
            let flow = tokio::select! {
                _ = shutdown.cancelled() => {
                    close(&self.conn, CloseCode::Shutdown, "server shutting down");
                    ControlFlow::Break(())
                }
                _ = &mut open_deadline, if self.session.id().is_none() => {
                    tracing::info!(remote = %self.remote, "native: no session OPEN in time");
                    close(&self.conn, CloseCode::Timeout, "no session OPEN in time");
                    ControlFlow::Break(())
                }
                message = messages.next() => match message {
                    Ok(Some(message)) => {
                        let step = match seq.accept(message.header.seq_id) {
                            Ok(()) => self.session.handle(message.subtype, &message.data),
                            Err(err) => self.session.framing_error(&err),
                        };
                        self.apply_boxed(step, &ended_tx).await
                    }
                    Err(ReadError::Framing(err)) => {
                        let step = self.session.framing_error(&err);
                        self.apply_boxed(step, &ended_tx).await
                    }
                    Err(err) => {
                        tracing::debug!(remote = %self.remote, %err, "native: control stream ended");
                        // A lost connection breaks the stream too; closing
                        // it here would hide why it ended (see `lost`).
                        if self.conn.close_reason().is_none() {
                            close(&self.conn, CloseCode::ProtocolViolation, "control stream broken");
                        }
                        ControlFlow::Break(())
                    }
                    // The client finished its control stream: the session is over.
                    Ok(None) => {
                        close(&self.conn, CloseCode::NoError, "control stream finished");
                        ControlFlow::Break(())
                    }
                },
                Some(content_id) = ended.recv() => self.content_ended(content_id).await,
                why = auth::ended(&mut self.grant) => self.revoked(why).await,
                cut = next_cut_off(&mut self.cut_offs) => self.cut_off(cut).await,
                Some(handover) = next_handover(&mut self.claim) => self.hand_over(handover),
                _ = self.route_del.cancelled() => {
                    tracing::info!(remote = %self.remote, "native: ROUTE_DEL, closing a child relay's session");
                    close(&self.conn, CloseCode::RouteDel, "ROUTE_DEL");
                    ControlFlow::Break(())
                }
                rotation = rotations.recv() => match rotation {
                    Ok(rotation) => self.pass_on_key(&rotation).await,
                    // Missed rotations: the next one still brings the newest key.
                    Err(_) => ControlFlow::Continue(()),
                },
                _ = self.conn.closed() => ControlFlow::Break(()),
            };
            if flow.is_break() {
                return;
            }
        }
    }

    /// [`Self::apply`] on the heap: requests are rare and their futures
    /// (watch, resume, VoD) large; inline, they would size every
    /// connection's task for its whole life.
    async fn apply_boxed(
        &mut self,
        step: Step,
        ended: &mpsc::UnboundedSender<u32>,
    ) -> ControlFlow<()> {
        Box::pin(self.apply(step, ended)).await
    }

    async fn apply(&mut self, step: Step, ended: &mpsc::UnboundedSender<u32>) -> ControlFlow<()> {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        match step {
            Step::Ignore => ControlFlow::Continue(()),
            Step::Reply(reply) => self.reply(&reply).await,
            Step::Opened { id, reply, resume } => {
                self.stats.opened(id.to_hex());
                tracing::debug!(remote = %self.remote, session = %&id.to_hex()[..16], "native: session open");
                let resumable = self.context.native_sessions.resumable.clone();
                let claim = resumable.claim(id);
                let parked = match resume {
                    true => resumable.take(&claim, std::time::Instant::now()).await,
                    false => None,
                };
                self.claim = Some(claim);
                match parked {
                    Some(parked) => self.resume(parked, ended).await,
                    None => self.reply(&reply).await,
                }
            }
            Step::Refuse { reply, close: code } => {
                tracing::warn!(
                    remote = %self.remote,
                    code = %reply.code,
                    text = %reply.text,
                    "native: session refused, closing the connection"
                );
                self.last_reply(&reply, code).await
            }
            Step::Watch {
                content_id,
                request,
            } => self.watch(content_id, request, ended).await,
            Step::Control { control } => self.control(control).await,
            Step::Balance { request } => self.balance(request).await,
            Step::ClusterControl { request } => self.cluster_control(request).await,
            Step::Cluster { kind } => {
                let reply = self.cluster_reply(kind);
                self.reply(&reply).await
            }
            Step::Unwatch { content_id, reply } => {
                if let Some(viewer) = self.viewers.remove(&content_id) {
                    viewer.stop();
                }
                self.requests.remove(&content_id);
                self.routes.remove(&content_id);
                self.stats.slot_removed(content_id);
                self.sealed.remove(&content_id);
                self.reply(&reply).await
            }
            Step::Close { reply } => self.last_reply(&reply, CloseCode::NoError).await,
        }
    }

    async fn watch(
        &mut self,
        content_id: u32,
        request: ContentRequest,
        ended: &mpsc::UnboundedSender<u32>,
    ) -> ControlFlow<()> {
        if request.flags.contains(ContentFlags::STREAMING_IN) {
            self.session.watch_failed(content_id);
            let reply = self.upload_reply(&target_name(&request.target));
            return self.reply(&reply).await;
        }
        match self.start_slot(content_id, request, ended).await {
            Ok(reply) => self.reply(&reply).await,
            Err(SlotError::Refused(reply)) => {
                self.session.watch_failed(content_id);
                self.reply(&reply).await
            }
            Err(SlotError::ConnectionGone) => ControlFlow::Break(()),
        }
    }

    /// Starts streaming `request` under `content_id`: the play check, the
    /// content's description on the control stream, then its frames.
    /// Returns the reply for a CONTENT_ADD.
    async fn start_slot(
        &mut self,
        content_id: u32,
        request: ContentRequest,
        ended: &mpsc::UnboundedSender<u32>,
    ) -> Result<RetCodePacket, SlotError> {
        let name = target_name(&request.target);
        let now = avrs_auth::unix_now();
        let credential = match self.session.token() {
            Some(token) => avrs_auth::Credential::Token(token),
            None => avrs_auth::Credential::None,
        };
        let grant =
            match self
                .context
                .authorizer
                .authorize_play(self.remote.ip(), &name, credential, now)
            {
                Ok(grant) => grant,
                Err(why) => {
                    tracing::info!(remote = %self.remote, %why, "native: watch refused");
                    let reply = RetCodePacket::with_text(why.retcode(), why.retcode().name());
                    return Err(SlotError::Refused(reply));
                }
            };
        if self.grant.is_none() && grant.via == avrs_auth::Via::Token {
            self.stats.subject(&grant.subject);
            self.grant = Some(LiveGrant::new(self.context.clone(), grant));
        }
        if let Some(id) = name.strip_prefix("vod/") {
            let reply = self.watch_vod(content_id, &request, id, ended).await?;
            self.requests.insert(content_id, request);
            return Ok(reply);
        }
        let Some(content) = resolve(&self.context, &request.target).await else {
            tracing::info!(remote = %self.remote, target = ?request.target, "native: content not found");
            return Err(SlotError::Refused(content_not_found(&request.target)));
        };
        let mut signer = ContentSigner::new(self.context.content_key.clone(), content.id());
        let sealing = self.sealing_for(&content)?;
        let mut key_from = None;
        match (&sealing, request.key_only) {
            (Sealing::Here(key), _) => signer = signer.sealing(key.clone()),
            (Sealing::Clear, true) => {
                let reply = RetCodePacket::with_text(RetCode::ContentUnavailable, "NOT_ENCRYPTED");
                return Err(SlotError::Refused(reply));
            }
            (Sealing::Upstream { origin }, true) => {
                let text = match origin {
                    Some(addr) => format!("KEY_AT_ORIGIN {addr}"),
                    None => "KEY_AT_ORIGIN".to_owned(),
                };
                let reply = RetCodePacket::with_text(RetCode::ContentUnavailable, text);
                return Err(SlotError::Refused(reply));
            }
            // Frames go on as the origin sealed them; a player gets the
            // key from the origin (a relay never does).
            (Sealing::Upstream { origin }, false) if !request.relay => key_from = *origin,
            _ => {}
        }
        let route = match request.relay {
            true => self.route_add(&content)?,
            false => None,
        };
        // A relayed content is announced with its origin's signer.
        let origin = match content.upstream_origin() {
            Some(upstream) => (*upstream).clone(),
            None => signer.origin(),
        };
        let mut info = super::media::content_info(content_id, &content.configs(), Some(origin));
        // The key goes to authorised players only, never to a relay; they
        // get each rotation too.
        if !request.relay {
            info.key = signer.key_grant();
            if signer.seals() {
                self.sealed.insert(content_id, content.clone());
            }
        }
        let info = info.encode().expect("configurations always encode");
        if self.control.write(SubType::Session, &info).await.is_err() {
            return Err(SlotError::ConnectionGone);
        }
        self.requests.insert(content_id, request.clone());
        if request.key_only {
            tracing::debug!(remote = %self.remote, stream = content.name(), content_id, "native: key-only session");
            self.stats
                .slot_added(content_id, &format!("{} (key)", content.name()));
            return Ok(content_added(content_id));
        }
        tracing::debug!(remote = %self.remote, stream = content.name(), content_id, "native: viewer joined");
        self.stats.slot_added(content_id, content.name());
        let viewer = Viewer::spawn(
            self.conn.clone(),
            content,
            content_id,
            signer,
            self.stats.clone(),
            ended.clone(),
        );
        self.viewers.insert(content_id, SlotTask::Live(viewer));
        let mut text = content_id.to_string();
        if let Some(route) = route {
            let path: Vec<String> = route.path.iter().map(|id| id.to_hex()).collect();
            text.push_str(&format!(" route={}", path.join(",")));
            self.routes.insert(content_id, route);
        }
        if let Some(addr) = key_from {
            text.push_str(&format!(" key_from={addr}"));
        }
        Ok(RetCodePacket::with_text(RetCode::Success, text))
    }

    /// How `content`'s frames travel: in clear, sealed here (an ENCRYPTED
    /// content published here), or sealed by the origin (relayed here; this
    /// node holds no key, players get it from the origin's QUIC address).
    fn sealing_for(&self, content: &LiveContent) -> Result<Sealing, SlotError> {
        let relayed = self
            .context
            .cluster
            .get()
            .filter(|cluster| cluster.relays.info(content.name()).is_some());
        let encrypted = self.context.authorizer.encrypts(content.name());
        if let Some(cluster) = relayed {
            if encrypted || content.is_sealed() {
                let key = crate::cluster::content_key(content.name());
                return Ok(Sealing::Upstream {
                    origin: cluster.origin_quic_address(key),
                });
            }
            return Ok(Sealing::Clear);
        }
        if !encrypted {
            return Ok(Sealing::Clear);
        }
        let registry = &self.context.registry;
        let is_live = |id| {
            registry
                .list()
                .iter()
                .any(|c| c.id() == id && !c.is_ended())
        };
        match self.context.content_keys.key_for(content.id(), is_live) {
            Ok(key) => Ok(Sealing::Here(key)),
            Err(err) => {
                tracing::error!(%err, "native: no content key");
                let reply = RetCodePacket::with_text(RetCode::ContentUnavailable, "NO_CONTENT_KEY");
                Err(SlotError::Refused(reply))
            }
        }
    }

    /// ROUTE_ADD: a member relaying `content` asks to be fed. Granted by
    /// this node's route table (children cap, loop and depth rules), for a
    /// session signed by a live member's key. `None` outside a cluster.
    fn route_add(
        &self,
        content: &LiveContent,
    ) -> Result<Option<crate::cluster::routes::ChildRoute>, SlotError> {
        let Some(cluster) = self.context.cluster.get() else {
            return Ok(None);
        };
        let child = self.session.id().unwrap_or_default();
        let member = cluster.view().get(&child).is_some_and(|m| m.is_alive());
        if !member {
            let reply =
                RetCodePacket::with_text(RetCode::MemberSecurityIssue, ROUTE_ADD_NOT_A_MEMBER);
            return Err(SlotError::Refused(reply));
        }
        let key = crate::cluster::content_key(content.name());
        let is_origin = content.upstream_origin().is_none();
        match cluster
            .routes
            .add_child(key, child, is_origin, self.route_del.clone())
        {
            Ok(route) => Ok(Some(route)),
            Err(err) => {
                tracing::info!(remote = %self.remote, child = %child.to_hex(), %err, "native: ROUTE_ADD refused");
                let text = format!("ROUTE_REFUSED {err}");
                Err(SlotError::Refused(RetCodePacket::with_text(
                    RetCode::ContentUnavailable,
                    text,
                )))
            }
        }
    }

    /// CONTENT_ADD of `vod/ID`: streams the stored content from the group of
    /// pictures containing the start position.
    async fn watch_vod(
        &mut self,
        content_id: u32,
        request: &ContentRequest,
        id: &str,
        ended: &mpsc::UnboundedSender<u32>,
    ) -> Result<RetCodePacket, SlotError> {
        let library = self.context.vod.get().map(|vod| vod.library.clone());
        let found = library.and_then(|library| {
            let id = avrs_vod::VodId::parse(id).ok()?;
            library.get(id).ok()?;
            Some((library, id))
        });
        let Some((library, id)) = found else {
            return Err(SlotError::Refused(content_not_found(&request.target)));
        };
        // One rendition exists: every wish is answered with it.
        let rendition = 0;
        let signer = ContentSigner::new(self.context.content_key.clone(), id.guuid());
        let info = super::media::content_info(
            content_id,
            &avrs_core::live::TrackConfigs::default(),
            Some(signer.origin()),
        );
        let info = info.encode().expect("an empty configuration encodes");
        if self.control.write(SubType::Session, &info).await.is_err() {
            return Err(SlotError::ConnectionGone);
        }
        let slot = super::group_writer::Slot {
            content_id,
            signer: Arc::new(signer),
            stats: self.stats.clone(),
        };
        self.stats.slot_added(content_id, &format!("vod/{id}"));
        let start = request.start.unwrap_or(0);
        tracing::debug!(remote = %self.remote, %id, start, content_id, "native: VoD viewer joined");
        let player = VodPlayer::spawn(self.conn.clone(), library, id, start, slot, ended.clone());
        self.viewers.insert(content_id, SlotTask::Vod(player));
        Ok(RetCodePacket::with_text(
            RetCode::Success,
            format!("{content_id} rendition={rendition}"),
        ))
    }

    /// Pause, resume or seek a VoD slot.
    async fn control(&mut self, control: ContentControl) -> ControlFlow<()> {
        let reply = match self.viewers.get(&control.content_id) {
            Some(SlotTask::Vod(player)) => {
                let mut delivered = true;
                if let Some(position) = control.seek {
                    delivered &= player.command(Command::Seek(position));
                }
                match control.state {
                    Some(ContentState::Paused) => delivered &= player.command(Command::Pause),
                    Some(ContentState::Playing) => delivered &= player.command(Command::Resume),
                    _ => {}
                }
                match delivered {
                    true => RetCodePacket::new(RetCode::Success),
                    false => RetCodePacket::with_text(RetCode::ContentUnavailable, "CONTENT_ENDED"),
                }
            }
            Some(SlotTask::Live(_)) => RetCodePacket::with_text(
                RetCode::ContentUnavailable,
                "LIVE_CONTENT_NOT_CONTROLLABLE",
            ),
            None => RetCodePacket::new(RetCode::SessionContentIdWrong),
        };
        self.reply(&reply).await
    }

    /// STREAMING_IN: refused; the code says whether the grant would allow
    /// publishing (native publish is not served yet).
    fn upload_reply(&self, name: &str) -> RetCodePacket {
        let allowed = self.session.token().is_some_and(|token| {
            self.context
                .authorizer
                .check_token(
                    token,
                    avrs_auth::Operation::SessionContentAddIn,
                    name,
                    self.remote.ip(),
                    avrs_auth::unix_now(),
                )
                .is_ok()
        });
        match allowed {
            true => {
                RetCodePacket::with_text(RetCode::ContentUnavailable, "STREAMING_IN_NOT_SUPPORTED")
            }
            false => {
                RetCodePacket::with_text(RetCode::MemberSecurityIssue, "STREAMING_IN_NOT_ALLOWED")
            }
        }
    }

    /// CLUSTER_ADD / DEL / UPDATE: the RBAC table of the session's role (the
    /// token's, else client); allowed ones find no cluster on a single node.
    fn cluster_reply(&self, kind: SessionType) -> RetCodePacket {
        use avrs_auth::Operation;
        let op = match kind {
            SessionType::ClusterAdd => Operation::SessionClusterAdd,
            SessionType::ClusterDel => Operation::SessionClusterDel,
            _ => Operation::SessionClusterUpdate,
        };
        let now = avrs_auth::unix_now();
        let role = self
            .session
            .token()
            .and_then(|token| self.context.authorizer.token_keys().verify(token, now).ok())
            .map(|claims| claims.role);
        let allowed = match role {
            Some(role) => role.allows(op),
            None => avrs_auth::allowed(avrs_proto::avrs::Roles::CLIENT, op),
        };
        match allowed {
            true => RetCodePacket::with_text(RetCode::ClusterNotFound, "SINGLE_NODE_NO_CLUSTERS"),
            false => RetCodePacket::with_text(RetCode::MemberSecurityIssue, "ROLE_NOT_ALLOWED"),
        }
    }

    /// Cluster control (`'C'`) as the session's signer, with its roster
    /// roles (or its token's role): ROUTE_FIND / ROUTE_CHECK answered by
    /// this node (in a cluster or not), the rest from its cluster book. The
    /// reply is an `'r'` or a typed cluster packet (INFO, LIST_RESPONSE,
    /// CONTENT_LIST_RESPONSE, ROUTE_FIND_RESPONSE, ROUTE_CHECK_RESPONSE).
    async fn cluster_control(
        &mut self,
        request: avrs_proto::avrs::ClusterRequest,
    ) -> ControlFlow<()> {
        use crate::cluster::control;
        use avrs_cluster::control::Reply;
        let Some(id) = self.session.id() else {
            return self
                .reply(&RetCodePacket::new(RetCode::SessionNotOpened))
                .await;
        };
        let now = avrs_auth::unix_now();
        let role = self
            .session
            .token()
            .and_then(|token| self.context.authorizer.token_keys().verify(token, now).ok())
            .map(|claims| claims.role);
        let cluster = self.context.cluster.get().map(|c| &**c);
        // BOOK_SYNC: the host's signed book, for operators only.
        if let (avrs_proto::avrs::ClusterRequest::BookSync(sync), Some(cluster)) =
            (&request, cluster)
        {
            return match control::book_sync::answer(cluster, id, sync) {
                Ok(signed) => match self.control.write(SubType::Cluster, &signed).await {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                },
                Err(refusal) => self.reply(&refusal).await,
            };
        }
        let actor = control::native_actor(cluster, id, role);
        let kind = request.kind();
        let Some(reply) = control::answer(&self.context, actor, request) else {
            let reply = RetCodePacket::with_text(RetCode::ClusterNotFound, "NOT_IN_A_CLUSTER");
            return self.reply(&reply).await;
        };
        tracing::debug!(remote = %self.remote, %kind, code = %reply.code(), "native: cluster control");
        let packet = match reply {
            Reply::Code(reply) => return self.reply(&reply).await,
            Reply::Packet(packet) => packet.to_packet(),
        };
        let Ok(packet) = packet else {
            return self.reply(&RetCodePacket::new(RetCode::Error)).await;
        };
        match self.control.write(SubType::Cluster, &packet.finish()).await {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }

    /// BALANCE_REQUEST: the best server of the cluster for the content,
    /// skipping the ones the client could not use.
    async fn balance(&mut self, request: BalanceRequest) -> ControlFlow<()> {
        let Some(cluster) = self.context.cluster.get() else {
            let reply = RetCodePacket::with_text(RetCode::ClusterNotFound, "NOT_IN_A_CLUSTER");
            return self.reply(&reply).await;
        };
        let response = match crate::cluster::control::balance::choose(cluster, &request) {
            Ok(response) => response,
            Err(refusal) => return self.reply(&refusal).await,
        };
        let Ok(packet) = response.to_packet() else {
            return ControlFlow::Continue(());
        };
        match self.control.write(SubType::Cluster, &packet.finish()).await {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }

    /// The session's grant ended: every slot stops (its group streams
    /// reset) and the connection closes with ACCESS_REVOKED, the reason
    /// starting with the return code name, so the client fails rather than
    /// taking it for the content's end.
    async fn revoked(&mut self, why: avrs_auth::AuthError) -> ControlFlow<()> {
        tracing::info!(remote = %self.remote, %why, "native: session grant ended");
        for (content_id, slot) in self.viewers.drain() {
            slot.stop();
            self.session.content_ended(content_id);
            self.stats.slot_removed(content_id);
        }
        let reason = format!("{} {why}", why.retcode().name());
        close(&self.conn, CloseCode::AccessRevoked, &reason);
        // The key this session held must open nothing sent from now on:
        // its ENCRYPTED contents move to a new key (the session is closed,
        // so it is not sent the new one).
        for (_, content) in self.sealed.drain() {
            if let Err(err) = self.context.content_keys.rotate(content.id()) {
                tracing::error!(%err, stream = content.name(), "cannot rotate a content key");
            }
        }
        ControlFlow::Break(())
    }

    /// A content this session watches sealed moved to a new key: the new
    /// key goes out on the control stream (a CONTENT_UPDATE) before any
    /// frame is sealed with it.
    async fn pass_on_key(&mut self, rotation: &Rotation) -> ControlFlow<()> {
        let slots: Vec<(u32, Arc<LiveContent>)> = self
            .sealed
            .iter()
            .filter(|(_, content)| content.id() == rotation.content)
            .map(|(id, content)| (*id, content.clone()))
            .collect();
        for (content_id, content) in slots {
            let origin = match content.upstream_origin() {
                Some(upstream) => (*upstream).clone(),
                None => ContentSigner::new(self.context.content_key.clone(), content.id()).origin(),
            };
            let mut info = super::media::content_info(content_id, &content.configs(), Some(origin));
            info.key = Some(ContentKeyGrant {
                epoch: rotation.key.epoch(),
                key: *rotation.key.secret_bytes(),
            });
            let Ok(data) = info.encode() else {
                continue;
            };
            if self.control.write(SubType::Session, &data).await.is_err() {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }

    async fn content_ended(&mut self, content_id: u32) -> ControlFlow<()> {
        self.session.content_ended(content_id);
        self.requests.remove(&content_id);
        self.routes.remove(&content_id);
        self.stats.slot_removed(content_id);
        self.sealed.remove(&content_id);
        self.viewers.remove(&content_id);
        match self
            .control
            .write(SubType::Session, &ended_notice(content_id))
            .await
        {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }

    async fn reply(&mut self, reply: &RetCodePacket) -> ControlFlow<()> {
        if reply.code != RetCode::Success {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
        }
        let data = reply.encode().unwrap_or_else(|_| {
            RetCodePacket::new(reply.code)
                .encode()
                .expect("a code name always encodes")
        });
        match self.control.write(SubType::RetCode, &data).await {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }

    /// Sends the reply, lets it arrive, then closes the connection.
    async fn last_reply(&mut self, reply: &RetCodePacket, code: CloseCode) -> ControlFlow<()> {
        let _ = self.reply(reply).await;
        self.control.finish(LAST_REPLY_WAIT).await;
        close(&self.conn, code, reply.code.name());
        ControlFlow::Break(())
    }
}

/// How a content's frames travel to this slot.
enum Sealing {
    Clear,
    /// Sealed by this node with this key.
    Here(Arc<super::content_keys::SealingKey>),
    /// Sealed by the origin (QUIC address, when known), forwarded as is.
    Upstream {
        origin: Option<SocketAddr>,
    },
}

/// Why a slot did not start.
enum SlotError {
    /// Refused with this reply (the session goes on).
    Refused(RetCodePacket),
    /// The control stream is gone.
    ConnectionGone,
}

/// The content name a request targets (empty for a GUUID).
fn target_name(target: &ContentTarget) -> String {
    match target {
        ContentTarget::Name(name) => name.clone(),
        ContentTarget::Uuid { .. } => String::new(),
    }
}

/// The live content a CONTENT_ADD names. The node is a single-node cluster
/// for now: the cluster UUID is not checked.
/// The live content asked for: by name, local or relayed from a member
/// that holds it (waiting up to `locate::WAIT_FOR_RELAY` for the relay);
/// by GUUID, local only.
async fn resolve(context: &Arc<NodeContext>, target: &ContentTarget) -> Option<Arc<LiveContent>> {
    match target {
        ContentTarget::Name(name) => crate::cluster::locate::find_live(context, name).await,
        ContentTarget::Uuid { content, .. } => context
            .registry
            .list()
            .into_iter()
            .find(|c| c.id() == *content && !c.is_ended()),
    }
}
