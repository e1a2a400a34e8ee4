//! RTMP play: a viewer's connection fed from the live fan-out.
//!
//! Cost per viewer per message is what limits an RTMP server (DESIGN §6),
//! so the media messages are chunked once per frame for every viewer
//! (`Encoding::RtmpMessage`, see [`super::chunk`]) and a viewer's socket gets
//! everything that is ready in one vectored write per wake-up.
//!
//! Slow viewers: the [`Subscriber`] itself skips a reader that falls a group
//! behind to the newest keyframe. On top of that, when this viewer's queued
//! bytes took longer than about one group to drain, it skips to the newest
//! keyframe before reading more, and a socket that takes nothing for
//! `write_stall_timeout` is closed. Nothing a viewer does waits on another.

use super::chunk::{
    self, AUDIO_CSID, DATA_CSID, OUT_CHUNK_SIZE, TYPE_AUDIO, TYPE_DATA_AMF0, TYPE_VIDEO,
    VIDEO_CSID, encode_message,
};
use super::error::ConnError;
use super::guard::InboundGuard;
use super::output::OutQueue;
use super::session::{CONTROL_READ_SIZE, Connection, PlayRequest, linger, linger_for};
use avrs_core::live::{
    Encoding, LiveContent, LiveFrame, Protocol, ReadBatch, Subscriber, TrackConfigs,
};
use avrs_media::TrackKind;
use avrs_media::flv::{
    OnMetaData, aac_sequence_header_prefix, avc_sequence_header_prefix, frame_payload,
    frame_timestamp_ms,
};
use bytes::Bytes;
use rml_rtmp::sessions::{ServerSession, ServerSessionEvent, ServerSessionResult};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// The message stream id whose encodings are shared: rml_rtmp gives the
/// first stream a client creates id 1, and players create one stream.
/// A viewer on another id gets its own encodings.
const SHARED_STREAM_ID: u32 = 1;
/// Most frames taken from the fan-out per wake-up.
const BATCH: usize = 1024;
/// How often a play request for a name that is not live yet looks again.
const PLAY_POLL: Duration = Duration::from_millis(50);
/// Group duration assumed before two keyframes have been seen, and bounds
/// of the estimate.
const DEFAULT_GROUP: Duration = Duration::from_secs(1);
const MIN_GROUP: Duration = Duration::from_millis(500);
const MAX_GROUP: Duration = Duration::from_secs(5);

/// Plays `request` on `conn` until the viewer leaves, the stream ends or the
/// node stops.
pub async fn run(mut conn: Connection, request: PlayRequest) -> Result<(), ConnError> {
    let Some(content) = wait_for_content(&conn, &request.name).await else {
        tracing::info!(stream = %request.name, "play refused: stream not found");
        let why = format!("stream '{}' is not live", request.name);
        return refuse(
            conn,
            request.stream_id,
            "NetStream.Play.StreamNotFound",
            &why,
        )
        .await;
    };
    if let Err(why) = crate::auth::refuse_sealed(&conn.context, &content, conn.peer.ip()) {
        let why = why.to_string();
        return refuse(conn, request.stream_id, "NetStream.Play.Failed", &why).await;
    }
    let results = conn.session.accept_request(request.request_id)?;
    conn.queue_results(results);
    tracing::info!(stream = %request.name, "playing");
    let viewer = Viewer {
        subscriber: content.subscribe(Protocol::Rtmp),
        stream_id: request.stream_id,
        configs: None,
        group: DEFAULT_GROUP,
        last_keyframe_dts: None,
    };
    let live = crate::auth::LiveGrant::new(conn.context.clone(), request.grant);
    viewer.serve(conn, live).await
}

/// Answers the play with an error status, then lingers until the player
/// has read it and gone.
async fn refuse(
    mut conn: Connection,
    stream_id: u32,
    code: &str,
    why: &str,
) -> Result<(), ConnError> {
    conn.out
        .push(chunk::on_status(stream_id, "error", code, why));
    conn.flush().await?;
    let (mut reader, mut writer) = conn.stream.split();
    linger(&mut reader, &mut writer).await;
    Ok(())
}

/// A name that is not live yet may become live in a moment (a player started
/// just before its publisher): wait `play_wait` for it, then give up.
async fn wait_for_content(conn: &Connection, name: &str) -> Option<Arc<LiveContent>> {
    let deadline = Instant::now() + conn.settings.play_wait;
    loop {
        // Held by another member of the cluster (maybe not gossiped here
        // yet at the first try): relay it here.
        crate::cluster::locate::start_relay(&conn.context, name);
        let live = conn.context.registry.get(name).filter(|c| !c.is_ended());
        if live.is_some() || Instant::now() >= deadline {
            return live;
        }
        tokio::select! {
            _ = conn.shutdown.cancelled() => return None,
            _ = tokio::time::sleep(PLAY_POLL) => {}
        }
    }
}

struct Viewer {
    subscriber: Subscriber,
    stream_id: u32,
    /// The configurations whose sequence headers this viewer last got.
    configs: Option<Arc<TrackConfigs>>,
    /// Estimated duration of a group of pictures.
    group: Duration,
    last_keyframe_dts: Option<i64>,
}

impl Viewer {
    async fn serve(
        mut self,
        conn: Connection,
        mut live: crate::auth::LiveGrant,
    ) -> Result<(), ConnError> {
        let Connection {
            mut stream,
            mut session,
            mut guard,
            mut out,
            shutdown,
            settings,
            ..
        } = conn;
        limit_send_buffer(stream.tcp());
        let (mut reader, mut writer) = stream.split();
        let mut buf = vec![0u8; CONTROL_READ_SIZE];
        let mut ended = false;
        // Reused for every read: the hot loop allocates nothing.
        let mut batch = ReadBatch::default();
        // Made once: a fresh `cancelled()` per wake-up would register with
        // the token again each time.
        let mut cancelled = std::pin::pin!(shutdown.cancelled());
        // When the bytes still queued were queued (`None` once the socket
        // took them), and when the socket last took some.
        let mut queued_at: Option<Instant> = None;
        let mut progress_at = Instant::now();
        loop {
            if out.is_empty() {
                if ended {
                    // Everything is written; let the viewer read it all
                    // (what sits in the socket buffers too) before closing.
                    linger_for(&mut reader, &mut writer, settings.write_stall_timeout).await;
                    return Ok(());
                }
                if queued_at.take().is_some_and(|at| at.elapsed() > self.group) {
                    let skipped = self.subscriber.skip_to_latest();
                    if skipped > 0 {
                        tracing::debug!(skipped, "slow viewer skipped to the newest keyframe");
                    }
                }
                self.subscriber.try_read_into(BATCH, &mut batch);
                for frame in &batch.frames {
                    self.queue_frame(frame, &mut out);
                }
                // Do not keep frames alive past their window.
                batch.frames.clear();
                if batch.ended {
                    tracing::info!("stream ended; closing the viewer");
                    out.push_vec(session.finish_playing(self.stream_id)?.bytes);
                    ended = true;
                }
                if !out.is_empty() {
                    // The cheap path: everything ready goes out in one
                    // vectored write now. Only what the socket refuses waits
                    // below, under the stall timer.
                    match out.try_write(&mut writer) {
                        Ok(written) => self.subscriber.count_bytes_out(written),
                        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(err) => return Err(err.into()),
                    }
                    if !out.is_empty() {
                        let now = Instant::now();
                        queued_at = Some(now);
                        progress_at = now;
                    }
                }
            }
            if out.is_empty() {
                tokio::select! {
                    biased;
                    _ = cancelled.as_mut() => return Ok(()),
                    read = reader.read(&mut buf) => {
                        let n = read?;
                        if n == 0 || input(&mut guard, &mut session, &buf[..n], &mut out)? {
                            return Ok(());
                        }
                        // Replies to the viewer's messages: their stall
                        // clock starts now.
                        progress_at = Instant::now();
                    }
                    why = live.ended(), if !ended => {
                        self.cut_off(&why, &mut out);
                        ended = true;
                    }
                    _ = self.subscriber.wait() => {
                        // Let the next messages join this write, but no
                        // longer than until a group starts: waiting through
                        // two would make this viewer skip one.
                        if !settings.write_coalesce.is_zero() {
                            tokio::select! {
                                _ = tokio::time::sleep(settings.write_coalesce) => {}
                                _ = self.subscriber.wait_group_start() => {}
                            }
                        }
                    }
                }
            } else {
                let stalled = progress_at + settings.write_stall_timeout;
                tokio::select! {
                    biased;
                    _ = cancelled.as_mut() => return Ok(()),
                    written = out.write_some(&mut writer) => {
                        self.subscriber.count_bytes_out(written?);
                        progress_at = Instant::now();
                    }
                    read = reader.read(&mut buf) => {
                        let n = read?;
                        if n == 0 || input(&mut guard, &mut session, &buf[..n], &mut out)? {
                            return Ok(());
                        }
                    }
                    why = live.ended(), if !ended => {
                        self.cut_off(&why, &mut out);
                        ended = true;
                    }
                    _ = tokio::time::sleep_until(stalled.into()) => {
                        return Err(ConnError::Timeout("viewer stopped reading"));
                    }
                }
            }
        }
    }

    /// The viewer's grant ended (revoked or expired): tell it why; the
    /// loop then drains what is queued and closes.
    fn cut_off(&mut self, why: &avrs_auth::AuthError, out: &mut OutQueue) {
        out.push(chunk::on_status(
            self.stream_id,
            "error",
            "NetStream.Play.Failed",
            &why.to_string(),
        ));
    }

    /// Queues one frame, preceded by sequence headers when its
    /// configurations are not the ones this viewer has.
    fn queue_frame(&mut self, frame: &Arc<LiveFrame>, out: &mut OutQueue) {
        let known = self
            .configs
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &frame.configs));
        if !known {
            let first = self.configs.is_none();
            self.configs = Some(frame.configs.clone());
            self.queue_headers(&frame.configs, frame_timestamp_ms(&frame.media), first, out);
        }
        if frame.media.track == TrackKind::Video && frame.media.keyframe {
            if let Some(last) = self.last_keyframe_dts {
                let ms = u64::try_from((frame.media.dts - last) / 90).unwrap_or(0);
                self.group = Duration::from_millis(ms).clamp(MIN_GROUP, MAX_GROUP);
            }
            self.last_keyframe_dts = Some(frame.media.dts);
        }
        let message = if self.stream_id == SHARED_STREAM_ID {
            frame.encoded(Encoding::RtmpMessage, |f| {
                media_message(f, SHARED_STREAM_ID)
            })
        } else {
            media_message(frame, self.stream_id)
        };
        out.push(message);
    }

    /// `onMetaData` (on joining only: players set up from it) and the
    /// sequence headers of `configs`.
    fn queue_headers(&self, configs: &TrackConfigs, ms: u32, first: bool, out: &mut OutQueue) {
        let id = self.stream_id;
        let message = |csid, type_id, parts: &[&[u8]]| {
            encode_message(csid, type_id, ms, id, parts, OUT_CHUNK_SIZE).unwrap_or_default()
        };
        if first {
            let meta = OnMetaData::from_configs(configs.video.as_ref(), configs.audio.as_ref());
            out.push(message(DATA_CSID, TYPE_DATA_AMF0, &[&meta.to_payload()]));
        }
        if let Some(video) = &configs.video {
            out.push(message(
                VIDEO_CSID,
                TYPE_VIDEO,
                &[&avc_sequence_header_prefix(), &video.avcc],
            ));
        }
        if let Some(audio) = &configs.audio {
            out.push(message(
                AUDIO_CSID,
                TYPE_AUDIO,
                &[&aac_sequence_header_prefix(), &audio.asc],
            ));
        }
    }
}

/// A frame as one RTMP message, chunked. Empty when it cannot be expressed
/// (a composition offset beyond 24 bits): the frame is then skipped.
fn media_message(frame: &LiveFrame, stream_id: u32) -> Bytes {
    let (csid, type_id) = match frame.media.track {
        TrackKind::Video => (VIDEO_CSID, TYPE_VIDEO),
        TrackKind::Audio => (AUDIO_CSID, TYPE_AUDIO),
    };
    match frame_payload(&frame.media) {
        Ok(payload) => encode_message(
            csid,
            type_id,
            frame_timestamp_ms(&frame.media),
            stream_id,
            &[&payload],
            OUT_CHUNK_SIZE,
        )
        .unwrap_or_default(),
        Err(err) => {
            tracing::debug!(seq = frame.seq, %err, "frame cannot be sent over RTMP: skipped");
            Bytes::new()
        }
    }
}

/// Handles what a viewer sends (acknowledgements, pings, buffer length,
/// closeStream). Returns `true` when the viewer stops playing.
fn input(
    guard: &mut InboundGuard,
    session: &mut ServerSession,
    bytes: &[u8],
    out: &mut OutQueue,
) -> Result<bool, ConnError> {
    guard.check(bytes)?;
    for result in session.handle_input(bytes)? {
        match result {
            ServerSessionResult::OutboundResponse(packet) => out.push_vec(packet.bytes),
            ServerSessionResult::RaisedEvent(ServerSessionEvent::PlayStreamFinished { .. }) => {
                return Ok(true);
            }
            ServerSessionResult::RaisedEvent(
                ServerSessionEvent::PublishStreamRequested { request_id, .. }
                | ServerSessionEvent::PlayStreamRequested { request_id, .. },
            ) => {
                let why = "this connection is already playing a stream";
                for packet in session.reject_request(request_id, "NetStream.Play.Failed", why)? {
                    if let ServerSessionResult::OutboundResponse(packet) = packet {
                        out.push_vec(packet.bytes);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(false)
}

/// Kernel send buffer of a play connection. Linux grows it up to megabytes
/// by default, which would hide a slow viewer for seconds of media (and
/// keep it that far behind live); this bounds it to under a second of a
/// 2.5 Mbit/s stream, so the lag shows in our own queue and the viewer
/// skips ahead instead.
const PLAY_SEND_BUFFER: usize = 256 * 1024;

fn limit_send_buffer(stream: &tokio::net::TcpStream) {
    if let Err(err) = socket2::SockRef::from(stream).set_send_buffer_size(PLAY_SEND_BUFFER) {
        tracing::debug!(%err, "cannot bound the viewer's send buffer");
    }
}
