//! TLS in front of a TCP listener. Handshakes run in their own tasks,
//! bounded in number and in time, so a silent or hostile client holds
//! neither the accept loop nor a slot for longer than
//! [`HANDSHAKE_TIMEOUT`]; a failed handshake closes that connection only.

use super::HANDSHAKE_TIMEOUT;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::serve::IncomingStream;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

/// Completed handshakes waiting for the HTTP server to take them.
const READY_QUEUE: usize = 64;

/// Runs the server side of a handshake on `tcp`, within
/// [`HANDSHAKE_TIMEOUT`].
pub async fn accept_tls(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
) -> io::Result<TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(done) => done,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake not completed in time",
        )),
    }
}

/// An [`axum::serve::Listener`] that yields connections whose handshake
/// is done. Dropping it stops the accept task.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    stop: CancellationToken,
}

impl TlsListener {
    /// Accepts on `listener` until `shutdown`, with at most
    /// `max_handshakes` handshakes in progress (more are closed at once).
    pub fn new(
        listener: TcpListener,
        acceptor: TlsAcceptor,
        max_handshakes: usize,
        shutdown: &CancellationToken,
    ) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(READY_QUEUE);
        let stop = shutdown.child_token();
        let slots = Arc::new(Semaphore::new(max_handshakes.max(1)));
        tokio::spawn(accept_loop(listener, acceptor, slots, tx, stop.clone()));
        Ok(Self { ready, local, stop })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    slots: Arc<Semaphore>,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    stop: CancellationToken,
) {
    let mut handshakes = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of descriptors and the like: wait, then go on.
                        tracing::warn!(%err, "TLS accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, "TLS connection closed: too many handshakes in progress");
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let ready = ready.clone();
                handshakes.spawn(async move {
                    let _slot = slot;
                    match accept_tls(&acceptor, tcp).await {
                        Ok(stream) => {
                            let _ = ready.send((stream, peer)).await;
                        }
                        Err(err) => tracing::debug!(%peer, %err, "TLS handshake failed"),
                    }
                });
            }
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
        }
    }
    handshakes.abort_all();
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // Stopped: the server's graceful shutdown ends the serve loop.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The peer of a TLS connection, for `into_make_service_with_connect_info`
/// (axum knows the peer of plain TCP listeners only);
/// [`peer_as_socket_addr`] turns it into the `ConnectInfo<SocketAddr>` the
/// handlers read.
#[derive(Debug, Clone, Copy)]
pub struct TlsPeer(pub SocketAddr);

impl Connected<IncomingStream<'_, TlsListener>> for TlsPeer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// Request middleware: `ConnectInfo<TlsPeer>` → `ConnectInfo<SocketAddr>`.
pub async fn peer_as_socket_addr(mut request: axum::extract::Request) -> axum::extract::Request {
    if let Some(ConnectInfo(TlsPeer(peer))) = request.extensions().get::<ConnectInfo<TlsPeer>>() {
        let peer = *peer;
        request.extensions_mut().insert(ConnectInfo(peer));
    }
    request
}
