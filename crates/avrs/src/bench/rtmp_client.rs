//! An RTMP client connection over tokio: rml_rtmp's sans-IO handshake and
//! `ClientSession`, with the I/O around them. `avrs publish` uses it to
//! publish and `avrs bench` to play.

use super::url::RtmpUrl;
use anyhow::{Context, Result, anyhow, bail};
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One connection after the handshake.
pub struct RtmpClient {
    stream: TcpStream,
    session: ClientSession,
    /// Bytes the session produced and the socket has not taken yet.
    out: Vec<u8>,
    /// Events from the session not yet taken by the caller.
    pub events: Vec<ClientSessionEvent>,
}

impl RtmpClient {
    /// Connects, shakes hands and asks to `connect` to the URL's app; returns
    /// once the server accepted. `buf` is the caller's read buffer.
    pub async fn connect(url: &RtmpUrl, buf: &mut [u8]) -> Result<Self> {
        let mut stream = TcpStream::connect(&url.authority)
            .await
            .with_context(|| format!("cannot connect to {}", url.authority))?;
        // Frames are written whole: small control messages must not wait.
        stream.set_nodelay(true)?;
        let leftover = handshake(&mut stream, buf).await?;
        let mut config = ClientSessionConfig::new();
        config.tc_url = Some(url.tc_url.clone());
        let (session, results) = ClientSession::new(config).map_err(rtmp_error)?;
        let mut client = Self {
            stream,
            session,
            out: Vec::new(),
            events: Vec::new(),
        };
        client.absorb(results);
        client.feed(&leftover)?;
        let request = client
            .session
            .request_connection(url.app.clone())
            .map_err(rtmp_error)?;
        client.absorb(vec![request]);
        client.flush().await?;
        client
            .wait_for(buf, |event| match event {
                ClientSessionEvent::ConnectionRequestAccepted => Some(Ok(())),
                ClientSessionEvent::ConnectionRequestRejected { description } => {
                    Some(Err(anyhow!("connect rejected: {description}")))
                }
                _ => None,
            })
            .await?;
        Ok(client)
    }

    pub fn session(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    /// Queues what the session produced: bytes to send, events to report.
    pub fn absorb(&mut self, results: Vec<ClientSessionResult>) {
        for result in results {
            match result {
                ClientSessionResult::OutboundResponse(packet) => {
                    self.out.extend_from_slice(&packet.bytes)
                }
                ClientSessionResult::RaisedEvent(event) => self.events.push(event),
                ClientSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
    }

    /// Hands received bytes to the session.
    pub fn feed(&mut self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let results = self.session.handle_input(data).map_err(rtmp_error)?;
        self.absorb(results);
        Ok(())
    }

    /// Sends everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// One read from the socket; 0 at end of stream. Cancel-safe, so it can
    /// race a timer in `select!`.
    pub async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stream.read(buf).await
    }

    /// Reads, feeds and flushes until `check` decides on an event; events
    /// it passes over stay in `events`.
    pub async fn wait_for(
        &mut self,
        buf: &mut [u8],
        mut check: impl FnMut(&ClientSessionEvent) -> Option<Result<()>>,
    ) -> Result<()> {
        loop {
            let mut decided = None;
            self.events.retain(|event| {
                if decided.is_some() {
                    return true;
                }
                decided = check(event);
                decided.is_none()
            });
            if let Some(result) = decided {
                return result;
            }
            let n = self.read(buf).await?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            self.feed(&buf[..n])?;
            self.flush().await?;
        }
    }
}

/// The client side of the RTMP handshake; returns the bytes that followed
/// it (the start of the chunk stream).
async fn handshake(stream: &mut TcpStream, buf: &mut [u8]) -> Result<Vec<u8>> {
    let mut handshake = Handshake::new(PeerType::Client);
    let c0c1 = handshake
        .generate_outbound_p0_and_p1()
        .map_err(|e| anyhow!("RTMP handshake: {e:?}"))?;
    stream.write_all(&c0c1).await?;
    loop {
        let n = stream.read(buf).await?;
        if n == 0 {
            bail!("the server closed the connection during the RTMP handshake");
        }
        match handshake
            .process_bytes(&buf[..n])
            .map_err(|e| anyhow!("RTMP handshake: {e:?}"))?
        {
            HandshakeProcessResult::InProgress { response_bytes } => {
                stream.write_all(&response_bytes).await?;
            }
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                stream.write_all(&response_bytes).await?;
                return Ok(remaining_bytes);
            }
        }
    }
}

/// rml_rtmp's errors as anyhow errors.
pub fn rtmp_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("RTMP: {e}")
}
