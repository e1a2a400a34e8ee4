//! Native AVRS over QUIC (ALPN `avrs/1`).
//!
//! - The client opens one bidirectional control stream and sends a signed
//!   session OPEN bound to the connection (its TLS exporter value), then
//!   CONTENT_ADD naming a live content; the server answers with `'r'`
//!   return codes and a CONTENT_UPDATE describing the content.
//! - The server sends each group of pictures on its own unidirectional
//!   stream (a CONTENT_UPDATE, then one `'c'` packet per frame), newer
//!   groups at higher priority; a group still open when the group after
//!   next starts is reset, so a slow viewer skips ahead and never slows the
//!   publisher or the other viewers.
//! - Anything malformed is answered when possible and closes that
//!   connection only.
//!
//! Layout: wire formats in `avrs_proto::avrs::quic`; sans-IO state here in
//! [`session`] (control stream) and [`groups`] (group streams); the tokio
//! drivers in `server`, `viewer` and [`client`]. `docs/protocol.md` has the
//! byte layouts and codes.

pub mod client;
pub mod content_keys;
mod group_writer;
pub mod groups;
pub mod media;
pub mod resume;
mod server;
pub(crate) use server::ROUTE_ADD_NOT_A_MEMBER;
pub mod session;
pub mod sessions;
pub mod signing;
mod slots;
pub mod tls;
pub mod unseal;
pub mod verify;
mod viewer;
pub mod vod;
pub mod wire;

use crate::context::NodeContext;
use avrs_proto::avrs::quic::CloseCode;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Serves native AVRS sessions on `address` (UDP) until `shutdown`,
/// sending datagrams of at most `max_mtu` bytes (`quic_max_mtu`), with the
/// node's certificate or the self-signed one kept in `self_signed_dir`.
/// Returns the bound address and the certificate's fingerprint once
/// listening, or the error that prevented it.
pub async fn bind(
    address: SocketAddr,
    context: Arc<NodeContext>,
    max_connections: usize,
    max_mtu: u16,
    self_signed_dir: Option<&std::path::Path>,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, tls::Fingerprint, tokio::task::JoinHandle<()>)> {
    let identity = context.tls.get().map(|t| &**t);
    let (config, fingerprint) = tls::server_config(identity, self_signed_dir, max_mtu)?;
    let endpoint = server_endpoint(config, address)
        .map_err(|e| anyhow::anyhow!("cannot listen for QUIC on {address}: {e}"))?;
    let bound = endpoint.local_addr()?;
    let task = tokio::spawn(accept_loop(endpoint, context, max_connections, shutdown));
    Ok((bound, fingerprint, task))
}

/// UDP receive buffer asked for the server socket. Every viewer's
/// handshakes and acknowledgements arrive on this one socket; the kernel
/// default (~208 KiB) overflows under a few hundred viewers and the drops
/// show as slow joins. The kernel caps it at `net.core.rmem_max`.
const SERVER_RECEIVE_BUFFER: usize = 8 * 1024 * 1024;

fn server_endpoint(
    config: quinn::ServerConfig,
    address: SocketAddr,
) -> anyhow::Result<quinn::Endpoint> {
    let socket = std::net::UdpSocket::bind(address)?;
    let state = quinn::udp::UdpSocketState::new((&socket).into())?;
    if let Err(err) = state.set_recv_buffer_size((&socket).into(), SERVER_RECEIVE_BUFFER) {
        tracing::warn!(%err, "cannot enlarge the QUIC receive buffer");
    }
    let runtime = quinn::default_runtime().ok_or_else(|| anyhow::anyhow!("no async runtime"))?;
    Ok(quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        Some(config),
        socket,
        runtime,
    )?)
}

async fn accept_loop(
    endpoint: quinn::Endpoint,
    context: Arc<NodeContext>,
    max_connections: usize,
    shutdown: CancellationToken,
) {
    // One permit per connection being served, handshake included.
    let permits = Arc::new(tokio::sync::Semaphore::new(max_connections));
    loop {
        let incoming = tokio::select! {
            _ = shutdown.cancelled() => break,
            incoming = endpoint.accept() => incoming,
        };
        let Some(incoming) = incoming else {
            break;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(
                remote = %incoming.remote_address(),
                max_connections,
                "native: connection limit reached; refused"
            );
            // A CONNECTION_REFUSED close, without spending a handshake on it.
            incoming.refuse();
            continue;
        };
        let context = context.clone();
        let shutdown = shutdown.clone();
        // Boxed: see `serve_connection`.
        let incoming = Box::new(incoming);
        tokio::spawn(async move {
            server::serve_connection(incoming, context, shutdown).await;
            drop(permit);
        });
    }
    endpoint.close(CloseCode::Shutdown.code().into(), b"server shutting down");
    // Lets the close frames go out; bounded so shutdown never hangs.
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
}
