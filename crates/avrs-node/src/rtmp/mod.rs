//! RTMP ingest (publish) and play.
//!
//! - [`serve`]: the accept loop, a connection limit, graceful stop;
//!   [`serve_tls`]: the same for RTMPS, TLS first (`stream`: either kind
//!   of connection for the session code).
//! - `handshake`: C0-C2 / S0-S2 with rml_rtmp's sans-IO handshake.
//! - `guard`: checks the inbound chunk stream before rml_rtmp parses it.
//! - `session`: the per-connection driver around rml_rtmp's `ServerSession`;
//!   `publish`: a publisher's messages into the fan-out; `play`: the
//!   fan-out to a viewer.
//! - `chunk`: our own outbound chunking (type-0 headers), so each media
//!   message is encoded once for all viewers; `output`: vectored writes.
//!
//! Names: `rtmp://HOST/APP/NAME?QUERY` is the content `APP/NAME`; the query
//! (stream keys, tokens) goes to [`authorize_publish`] (publish) or the
//! authorizer's play check (play).
//!
//! Behaviour a client sees:
//! - Publish refusals are `_error` replies whose description ffmpeg and OBS
//!   show: `NetStream.Publish.Denied` (policy), `NetStream.Publish.BadName`
//!   (name busy or invalid). A codec other than H.264/AAC, found at the first
//!   tag, gets `onStatus` `NetStream.Publish.Rejected` naming the codec, and
//!   the stream ends at once. Malformed media closes that connection only.
//! - A publisher that disconnects, or sends deleteStream / FCUnpublish (OBS
//!   does before reconnecting), leaves the stream waiting for the registry's
//!   reconnect timeout: viewers stay connected and continue when it returns.
//! - Play of a name that is not live waits up to [`RtmpSettings::play_wait`]
//!   (a player started just before its publisher), then gets `onStatus`
//!   `NetStream.Play.StreamNotFound`. Playback starts at the newest keyframe.
//!   When the stream ends, `NetStream.Play.Complete`, then close.
//! - Slow viewers skip to the newest keyframe (the subscriber does when a
//!   reader is a group behind; play does when its last write took longer than
//!   a group); a viewer whose socket takes nothing for
//!   [`RtmpSettings::write_stall_timeout`] is closed.
//! - Beyond `max_connections`, a client gets `NetConnection.Connect.Rejected`
//!   (while few are being refused; then connections are just closed).

mod chunk;
mod error;
pub mod guard;
mod handshake;
mod output;
mod play;
mod publish;
mod session;
mod stream;

use crate::context::NodeContext;
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use stream::RtmpStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Timeouts and waits of the RTMP listener.
#[derive(Debug, Clone)]
pub struct RtmpSettings {
    /// From accept to the end of the handshake.
    pub handshake_timeout: Duration,
    /// From accept to a publish or play request.
    pub setup_timeout: Duration,
    /// A publisher that sends nothing this long is gone.
    pub publish_idle_timeout: Duration,
    /// How long a play request for a name that is not live waits for it
    /// before `NetStream.Play.StreamNotFound`.
    pub play_wait: Duration,
    /// A peer whose socket takes no byte this long is closed.
    pub write_stall_timeout: Duration,
    /// On shutdown, how long connections get to close before being dropped.
    pub shutdown_grace: Duration,
    /// Connections beyond the limit that are told so (handshake, then a
    /// rejected connect) at the same time; more are closed at once.
    pub max_refusals: usize,
    /// How long a viewer's wake-up waits before writing, so the messages
    /// that arrive meanwhile go out in the same system call. Zero: write at
    /// once. Adds up to this much latency. Default: the config's default,
    /// 200 ms.
    pub write_coalesce: Duration,
}

impl Default for RtmpSettings {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            setup_timeout: Duration::from_secs(20),
            publish_idle_timeout: Duration::from_secs(30),
            play_wait: Duration::from_secs(5),
            write_stall_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(3),
            max_refusals: 16,
            write_coalesce: avrs_config::DEFAULT_RTMP_WRITE_COALESCE,
        }
    }
}

/// Accepts RTMP connections until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    context: Arc<NodeContext>,
    max_connections: usize,
    shutdown: CancellationToken,
) {
    serve_with(
        listener,
        context,
        max_connections,
        RtmpSettings::default(),
        shutdown,
    )
    .await;
}

/// [`serve`] with explicit settings.
pub async fn serve_with(
    listener: TcpListener,
    context: Arc<NodeContext>,
    max_connections: usize,
    settings: RtmpSettings,
    shutdown: CancellationToken,
) {
    accept_loop(listener, None, context, max_connections, settings, shutdown).await;
}

/// RTMPS: [`serve_with`] where every connection starts with a TLS
/// handshake (within the RTMP handshake timeout, on the connection's own
/// task and slot). A failed handshake closes that connection only.
pub async fn serve_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    context: Arc<NodeContext>,
    max_connections: usize,
    settings: RtmpSettings,
    shutdown: CancellationToken,
) {
    let tls = Some(acceptor);
    accept_loop(listener, tls, context, max_connections, settings, shutdown).await;
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    context: Arc<NodeContext>,
    max_connections: usize,
    settings: RtmpSettings,
    shutdown: CancellationToken,
) {
    let settings = Arc::new(settings);
    let slots = Arc::new(Semaphore::new(max_connections));
    let refusals = Arc::new(Semaphore::new(settings.max_refusals));
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of descriptors and the like: wait instead of
                        // spinning, then go on.
                        tracing::warn!(%err, "RTMP accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // Media is latency-bound; Nagle would hold small messages.
                let _ = stream.set_nodelay(true);
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    let tls = tls.clone();
                    refuse_full(stream, tls, peer, &refusals, &settings, max_connections, &mut tasks);
                    continue;
                };
                let context = context.clone();
                let settings = settings.clone();
                let stop = shutdown.child_token();
                let tls = tls.clone();
                let span = tracing::info_span!("rtmp", %peer, tls = tls.is_some());
                tasks.spawn(async move {
                    let _slot = slot;
                    let _open = OpenConnection::new(&context);
                    let stream = tokio::select! {
                        _ = stop.cancelled() => return,
                        upgraded = upgrade(stream, tls.as_ref()) => match upgraded {
                            Ok(stream) => stream,
                            Err(err) => {
                                tracing::info!(%err, "TLS handshake failed; connection closed");
                                return;
                            }
                        },
                    };
                    match session::run(stream, peer, context.clone(), settings, stop).await {
                        Ok(()) => tracing::debug!("connection closed"),
                        Err(err) if err.is_fault() => {
                            context.metrics.rtmp_errors.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(%err, "connection closed on error");
                        }
                        Err(err) => tracing::info!(%err, "connection closed"),
                    }
                }.instrument(span));
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => log_panic(done, &context),
        }
    }
    // Connections hold child tokens, so they are stopping now.
    let drain = async {
        while let Some(done) = tasks.join_next().await {
            log_panic(done, &context);
        }
    };
    if tokio::time::timeout(settings.shutdown_grace, drain)
        .await
        .is_err()
    {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

/// A connection task that panicked (a bug, or input that got past the
/// guard into rml_rtmp) ends that connection only: say so loudly.
fn log_panic(done: Result<(), tokio::task::JoinError>, context: &NodeContext) {
    if let Err(err) = done
        && err.is_panic()
    {
        context.metrics.rtmp_errors.fetch_add(1, Ordering::Relaxed);
        tracing::error!(%err, "RTMP connection task panicked");
    }
}

/// Keeps `rtmp_connections` (a gauge) right however the task ends.
struct OpenConnection(Arc<NodeContext>);

impl OpenConnection {
    fn new(context: &Arc<NodeContext>) -> Self {
        context
            .metrics
            .rtmp_connections
            .fetch_add(1, Ordering::Relaxed);
        Self(context.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0
            .metrics
            .rtmp_connections
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether `peer` may publish `name`. `query` is the stream name's query
/// string (`rtmp://HOST/live/NAME?token=...` or `?key=...`), checked by the
/// node's [`avrs_auth::Authorizer`] (token, stream key, loopback rule,
/// policies; audited). Every publish goes through here.
pub fn authorize_publish(
    context: &NodeContext,
    peer: SocketAddr,
    name: &str,
    query: Option<&str>,
) -> Result<avrs_auth::Grant, avrs_auth::AuthError> {
    let credential = avrs_auth::Credential::from_query(query);
    context
        .authorizer
        .authorize_publish(peer, name, credential, avrs_auth::unix_now())
}

/// The connection's byte stream: as accepted, or after a TLS handshake
/// (bounded by [`crate::tls::HANDSHAKE_TIMEOUT`]).
async fn upgrade(tcp: TcpStream, tls: Option<&TlsAcceptor>) -> std::io::Result<RtmpStream> {
    match tls {
        None => Ok(tcp.into()),
        Some(acceptor) => crate::tls::accept_tls(acceptor, tcp).await.map(Into::into),
    }
}

/// Beyond the connection limit: tell the client why (it shows
/// "NetConnection.Connect.Rejected") when few are being told already,
/// otherwise just close.
fn refuse_full(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    peer: SocketAddr,
    refusals: &Arc<Semaphore>,
    settings: &Arc<RtmpSettings>,
    max_connections: usize,
    tasks: &mut JoinSet<()>,
) {
    tracing::warn!(%peer, max_connections, "RTMP connection refused: at the connection limit");
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        return;
    };
    let limit = settings.handshake_timeout;
    tasks.spawn(async move {
        let _permit = permit;
        let why = format!("server is at its limit of {max_connections} RTMP connections");
        let refuse = async {
            let stream = upgrade(stream, tls.as_ref()).await?;
            reject_connect(stream, &why).await
        };
        let _ = tokio::time::timeout(limit, refuse).await;
    });
}

async fn reject_connect(mut stream: RtmpStream, why: &str) -> Result<(), error::ConnError> {
    let leftover = handshake::perform(&mut stream).await?;
    let (mut session, initial) = ServerSession::new(ServerSessionConfig::new())?;
    for result in initial {
        if let ServerSessionResult::OutboundResponse(packet) = result {
            stream.write_all(&packet.bytes).await?;
        }
    }
    let mut guard = guard::InboundGuard::default();
    let mut input = leftover;
    let mut buf = vec![0u8; 4096];
    loop {
        guard.check(&input)?;
        for result in session.handle_input(&input)? {
            if let ServerSessionResult::RaisedEvent(ServerSessionEvent::ConnectionRequested {
                request_id,
                ..
            }) = result
            {
                for packet in
                    session.reject_request(request_id, "NetConnection.Connect.Rejected", why)?
                {
                    if let ServerSessionResult::OutboundResponse(packet) = packet {
                        stream.write_all(&packet.bytes).await?;
                    }
                }
                // Closing with unread input would reset the connection and
                // could destroy the refusal before the client reads it.
                let (mut reader, mut writer) = stream.split();
                session::linger(&mut reader, &mut writer).await;
                return Ok(());
            }
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        input = buf[..n].to_vec();
    }
}
