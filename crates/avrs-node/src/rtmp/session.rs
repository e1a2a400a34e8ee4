//! One RTMP connection: handshake, then rml_rtmp's sans-IO
//! [`ServerSession`] fed from the socket, until the client publishes (handled
//! here, with [`Ingest`]) or plays (handed to [`super::play`]).

use super::chunk::{self, OUT_CHUNK_SIZE};
use super::error::ConnError;
use super::guard::InboundGuard;
use super::output::OutQueue;
use super::publish::Ingest;
use super::stream::RtmpStream;
use super::{RtmpSettings, authorize_publish, handshake, play};
use crate::context::NodeContext;
use avrs_core::live::PublishError;
use avrs_media::MediaError;
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// Bytes read from a publisher's socket at a time. With the guard's message
/// caps this bounds what a connection buffers.
const PUBLISH_READ_SIZE: usize = 64 * 1024;
/// Bytes read at a time before publishing, and from viewers (they send
/// only small control messages; this is per connection, so keep it small).
pub const CONTROL_READ_SIZE: usize = 4096;
/// After a refusal, how long to wait for the client to hang up: closing with
/// unread input would reset the connection and could destroy the refusal
/// before the client reads it.
const LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// rml_rtmp numbers the streams a client creates from 1, and every client
/// creates exactly one, but it does not report the id of a publish: status
/// messages about a publish go to this one.
const PUBLISH_STREAM_ID: u32 = 1;

/// A play request waiting for the connection to switch to playing.
#[derive(Debug)]
pub struct PlayRequest {
    pub request_id: u32,
    pub name: String,
    pub stream_id: u32,
    /// What let the viewer play; rechecked while it plays.
    pub grant: avrs_auth::Grant,
}

/// What the driver does after a batch of input.
enum Step {
    Continue,
    /// Boxed: a grant is large and a connection plays at most once.
    Play(Box<PlayRequest>),
    Close,
}

/// The state of one connection after the handshake.
pub struct Connection {
    pub stream: RtmpStream,
    pub peer: SocketAddr,
    pub context: Arc<NodeContext>,
    pub settings: Arc<RtmpSettings>,
    pub shutdown: CancellationToken,
    pub session: ServerSession,
    pub guard: InboundGuard,
    pub out: OutQueue,
    ingest: Option<Ingest>,
    /// The publisher's grant, rechecked while it publishes.
    live: Option<crate::auth::LiveGrant>,
}

/// Serves one accepted connection to its end.
pub async fn run(
    mut stream: RtmpStream,
    peer: SocketAddr,
    context: Arc<NodeContext>,
    settings: Arc<RtmpSettings>,
    shutdown: CancellationToken,
) -> Result<(), ConnError> {
    let accepted = Instant::now();
    let leftover = tokio::select! {
        _ = shutdown.cancelled() => return Ok(()),
        done = tokio::time::timeout(settings.handshake_timeout, handshake::perform(&mut stream)) => {
            done.map_err(|_| ConnError::Timeout("handshake not completed in time"))??
        }
    };
    let mut conn = Connection::new(stream, peer, context, settings, shutdown)?;
    let mut step = conn.input(&leftover)?;
    let mut buf = vec![0u8; CONTROL_READ_SIZE];
    loop {
        conn.flush().await?;
        match step {
            Step::Continue => {}
            Step::Close => {
                let (mut reader, mut writer) = conn.stream.split();
                linger(&mut reader, &mut writer).await;
                return Ok(());
            }
            Step::Play(request) => {
                drop(buf);
                return play::run(conn, *request).await;
            }
        }
        if conn.ingest.is_some() && buf.len() < PUBLISH_READ_SIZE {
            buf.resize(PUBLISH_READ_SIZE, 0);
        }
        // Until the client publishes or plays, the whole setup has a
        // deadline; a publisher must keep sending.
        let deadline = match &conn.ingest {
            None => accepted + conn.settings.setup_timeout,
            Some(_) => Instant::now() + conn.settings.publish_idle_timeout,
        };
        let n = tokio::select! {
            _ = conn.shutdown.cancelled() => return Ok(()),
            why = crate::auth::ended(&mut conn.live) => {
                conn.cut_publisher(&why.to_string());
                conn.flush().await?;
                let (mut reader, mut writer) = conn.stream.split();
                linger(&mut reader, &mut writer).await;
                return Ok(());
            }
            read = tokio::time::timeout_at(deadline.into(), conn.stream.read(&mut buf)) => match read {
                Ok(read) => read?,
                Err(_) if conn.ingest.is_some() => return Err(ConnError::Timeout("publisher sent nothing")),
                Err(_) => return Err(ConnError::Timeout("no publish or play request in time")),
            },
        };
        if n == 0 {
            if let Some(ingest) = &conn.ingest {
                tracing::info!(stream = %ingest.name(), frames = ingest.frames(),
                    "publisher disconnected; the stream waits for it to return");
            }
            return Ok(());
        }
        step = conn.input(&buf[..n])?;
    }
}

/// Closes our side, then reads and discards until the client closes too
/// (or [`LINGER`] passes), so what we wrote last reaches it.
pub async fn linger(reader: &mut (impl AsyncRead + Unpin), writer: &mut (impl AsyncWrite + Unpin)) {
    linger_for(reader, writer, LINGER).await;
}

/// [`linger`] with its own limit: a viewer at the end of a stream may still
/// have a socket buffer of media to read.
pub async fn linger_for(
    reader: &mut (impl AsyncRead + Unpin),
    writer: &mut (impl AsyncWrite + Unpin),
    limit: std::time::Duration,
) {
    let _ = writer.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(limit, async {
        while matches!(reader.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

impl Connection {
    fn new(
        stream: RtmpStream,
        peer: SocketAddr,
        context: Arc<NodeContext>,
        settings: Arc<RtmpSettings>,
        shutdown: CancellationToken,
    ) -> Result<Self, ConnError> {
        let mut config = ServerSessionConfig::new();
        // rml_rtmp announces this with Set Chunk Size at once; our own
        // chunk writer uses the same size for media.
        config.chunk_size = OUT_CHUNK_SIZE as u32;
        let (session, initial) = ServerSession::new(config)?;
        let mut conn = Self {
            stream,
            peer,
            context,
            settings,
            shutdown,
            session,
            guard: InboundGuard::default(),
            out: OutQueue::default(),
            ingest: None,
            live: None,
        };
        conn.queue_results(initial);
        Ok(conn)
    }

    pub async fn flush(&mut self) -> Result<usize, ConnError> {
        self.out
            .flush(&mut self.stream, self.settings.write_stall_timeout)
            .await
    }

    /// Queues rml_rtmp's outbound packets; events are not expected here.
    pub fn queue_results(&mut self, results: Vec<ServerSessionResult>) {
        for result in results {
            if let ServerSessionResult::OutboundResponse(packet) = result {
                self.out.push_vec(packet.bytes);
            }
        }
    }

    /// Feeds bytes from the client through the guard and the session.
    fn input(&mut self, bytes: &[u8]) -> Result<Step, ConnError> {
        if bytes.is_empty() {
            return Ok(Step::Continue);
        }
        self.guard.check(bytes)?;
        let results = self.session.handle_input(bytes)?;
        let mut next = Step::Continue;
        for result in results {
            let event = match result {
                ServerSessionResult::OutboundResponse(packet) => {
                    self.out.push_vec(packet.bytes);
                    continue;
                }
                ServerSessionResult::RaisedEvent(event) => event,
                ServerSessionResult::UnhandleableMessageReceived(payload) => {
                    tracing::debug!(type_id = payload.type_id, "unhandled RTMP message ignored");
                    continue;
                }
            };
            match self.event(event)? {
                Step::Continue => {}
                // A play request waits until this batch is handled; one
                // connection plays one stream.
                step @ Step::Play(_) if matches!(next, Step::Continue) => next = step,
                Step::Play(_) => {}
                Step::Close => return Ok(Step::Close),
            }
        }
        Ok(next)
    }

    fn event(&mut self, event: ServerSessionEvent) -> Result<Step, ConnError> {
        match event {
            ServerSessionEvent::ConnectionRequested {
                request_id,
                app_name,
            } => {
                tracing::debug!(app = %app_name, "connect");
                let results = self.session.accept_request(request_id)?;
                self.queue_results(results);
            }
            ServerSessionEvent::PublishStreamRequested {
                request_id,
                app_name,
                stream_key,
                ..
            } => return self.publish_requested(request_id, &app_name, &stream_key),
            ServerSessionEvent::PublishStreamFinished { .. } => {
                self.publisher_stopped("deleteStream")
            }
            ServerSessionEvent::StreamMetadataChanged { metadata, .. } => {
                tracing::debug!(?metadata, "publisher metadata");
            }
            ServerSessionEvent::VideoDataReceived {
                data, timestamp, ..
            } => return self.media(|ingest| ingest.video(&data, timestamp.value)),
            ServerSessionEvent::AudioDataReceived {
                data, timestamp, ..
            } => return self.media(|ingest| ingest.audio(&data, timestamp.value)),
            ServerSessionEvent::PlayStreamRequested {
                request_id,
                app_name,
                stream_key,
                stream_id,
                ..
            } => {
                if self.ingest.is_some() {
                    // Refuse the extra request; the publish goes on.
                    self.refuse(
                        request_id,
                        "NetStream.Play.Failed",
                        "this connection is publishing",
                    )?;
                    return Ok(Step::Continue);
                }
                let (key, query) = split_query(&stream_key);
                let name = content_name(&app_name, key);
                let credential = avrs_auth::Credential::from_query(query);
                let now = avrs_auth::unix_now();
                return match self.context.authorizer.authorize_clear_play(
                    self.peer.ip(),
                    &name,
                    credential,
                    now,
                    true,
                ) {
                    Ok(grant) => Ok(Step::Play(Box::new(PlayRequest {
                        request_id,
                        name,
                        stream_id,
                        grant,
                    }))),
                    Err(why) => {
                        tracing::warn!(stream = %name, %why, "play refused");
                        self.refuse(request_id, "NetStream.Play.Failed", &why.to_string())?;
                        Ok(Step::Close)
                    }
                };
            }
            ServerSessionEvent::UnhandleableAmf0Command { command_name, .. } => {
                if command_name == "FCUnpublish" {
                    self.publisher_stopped("FCUnpublish");
                } else {
                    tracing::trace!(command = %command_name, "command ignored");
                }
            }
            _ => {}
        }
        Ok(Step::Continue)
    }

    fn publish_requested(
        &mut self,
        request_id: u32,
        app: &str,
        stream_key: &str,
    ) -> Result<Step, ConnError> {
        let (key, query) = split_query(stream_key);
        let name = content_name(app, key);
        if let Some(ingest) = &self.ingest {
            let why = format!("this connection already publishes '{}'", ingest.name());
            // Refuse the extra request; the publish goes on.
            self.refuse(request_id, "NetStream.Publish.BadName", &why)?;
            return Ok(Step::Continue);
        }
        let grant = match authorize_publish(&self.context, self.peer, &name, query) {
            Ok(grant) => grant,
            Err(why) => {
                let why = why.to_string();
                tracing::warn!(stream = %name, %why, "publish refused");
                self.context
                    .metrics
                    .publish_refused
                    .fetch_add(1, Ordering::Relaxed);
                self.refuse(request_id, "NetStream.Publish.Denied", &why)?;
                return Ok(Step::Close);
            }
        };
        let publisher = match self.context.registry.publish(&name, Instant::now()) {
            Ok(publisher) => publisher,
            Err(err) => {
                let why = err.to_string();
                tracing::warn!(stream = %name, %why, "publish refused");
                self.context
                    .metrics
                    .publish_refused
                    .fetch_add(1, Ordering::Relaxed);
                let code = match err {
                    PublishError::Busy(_) | PublishError::BadName(..) => {
                        "NetStream.Publish.BadName"
                    }
                };
                self.refuse(request_id, code, &why)?;
                return Ok(Step::Close);
            }
        };
        let results = self.session.accept_request(request_id)?;
        self.queue_results(results);
        tracing::info!(stream = %name, "publishing");
        self.ingest = Some(Ingest::new(publisher));
        self.live = Some(crate::auth::LiveGrant::new(self.context.clone(), grant));
        Ok(Step::Continue)
    }

    /// Ends a publish whose grant was revoked or expired: the stream ends
    /// for its viewers and the publisher is told why.
    fn cut_publisher(&mut self, why: &str) {
        self.live = None;
        if let Some(ingest) = self.ingest.take() {
            ingest.finish();
        }
        self.out.push(chunk::on_status(
            PUBLISH_STREAM_ID,
            "error",
            "NetStream.Publish.Rejected",
            why,
        ));
    }

    /// Refuses an outstanding request with an `_error` whose description
    /// the client shows (ffmpeg: "Server error: ...").
    fn refuse(&mut self, request_id: u32, code: &str, why: &str) -> Result<(), ConnError> {
        let results = self.session.reject_request(request_id, code, why)?;
        self.queue_results(results);
        Ok(())
    }

    /// deleteStream / closeStream / FCUnpublish: OBS sends these before it
    /// reconnects, so treat them as a drop-out, not an end.
    fn publisher_stopped(&mut self, how: &str) {
        if let Some(ingest) = self.ingest.take() {
            tracing::info!(stream = %ingest.name(), frames = ingest.frames(), how,
                "publisher stopped; the stream waits for it to return");
        }
    }

    fn media(
        &mut self,
        feed: impl FnOnce(&mut Ingest) -> Result<(), MediaError>,
    ) -> Result<Step, ConnError> {
        let Some(ingest) = self.ingest.as_mut() else {
            return Ok(Step::Continue);
        };
        match feed(ingest) {
            Ok(()) => Ok(Step::Continue),
            Err(err @ MediaError::Unsupported { .. }) => {
                let ingest = self.ingest.take().expect("present");
                let name = ingest.name().to_owned();
                let why = format!(
                    "{err}; avrs accepts H.264 video and AAC audio (legacy or Enhanced RTMP)"
                );
                tracing::warn!(stream = %name, %why, "publish refused: unsupported codec");
                self.context
                    .metrics
                    .publish_refused
                    .fetch_add(1, Ordering::Relaxed);
                // Viewers cannot be served this media: end the stream now
                // rather than wait for a return.
                ingest.finish();
                self.out.push(chunk::on_status(
                    PUBLISH_STREAM_ID,
                    "error",
                    "NetStream.Publish.Rejected",
                    &why,
                ));
                Ok(Step::Close)
            }
            Err(err) => {
                let name = self.ingest.as_ref().map(|i| i.name().to_owned());
                tracing::warn!(stream = ?name, %err, "malformed media from the publisher");
                Err(ConnError::Media(err.to_string()))
            }
        }
    }
}

/// The content name of an RTMP app and stream name: `rtmp://HOST/live/NAME`
/// is `live/NAME`.
pub fn content_name(app: &str, key: &str) -> String {
    let app = app.trim_matches('/');
    let key = key.trim_start_matches('/');
    if app.is_empty() {
        key.to_owned()
    } else {
        format!("{app}/{key}")
    }
}

/// Splits `NAME?QUERY` (stream keys and tokens travel in the query).
pub fn split_query(stream_key: &str) -> (&str, Option<&str>) {
    match stream_key.split_once('?') {
        Some((key, query)) => (key, Some(query)),
        None => (stream_key, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_queries() {
        assert_eq!(split_query("test?key=abc&x"), ("test", Some("key=abc&x")));
        assert_eq!(split_query("test"), ("test", None));
        assert_eq!(content_name("live", "test"), "live/test");
        assert_eq!(content_name("live/", "/a/b"), "live/a/b");
        assert_eq!(content_name("", "test"), "test");
    }
}
