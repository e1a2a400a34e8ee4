//! Connecting: the client endpoint, the QUIC dial, and the signed OPEN.

use super::ClientOptions;
use crate::native::tls;
use anyhow::Context as _;
use avrs_crypto::{SigningKey, sign_packet};
use avrs_proto::avrs::SESSION_SIGN_CODE;
use avrs_proto::avrs::quic::{BINDING_SIZE, BoundOpen, EXPORTER_LABEL};
use std::net::SocketAddr;

/// A client endpoint (one UDP socket) for `addr`'s address family, set up
/// from `options`. One endpoint can carry many connections
/// ([`Session::connect_on`]): a load tool shares one among many viewers.
pub fn endpoint(addr: SocketAddr, options: &ClientOptions) -> anyhow::Result<quinn::Endpoint> {
    let local: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(local).context("open a UDP socket")?;
    let runtime = quinn::default_runtime().context("no async runtime")?;
    let mut endpoint = quinn::Endpoint::new(endpoint_config(), None, socket, runtime)
        .context("open a QUIC endpoint")?;
    endpoint.set_default_client_config(client_config(options)?);
    Ok(endpoint)
}

/// Lets servers send datagrams up to [`tls::CLIENT_MAX_UDP_PAYLOAD`] bytes
/// where the path carries them (their MTU discovery finds out).
fn endpoint_config() -> quinn::EndpointConfig {
    let mut config = quinn::EndpointConfig::default();
    // In range (1200..=65527) by construction; the default stays otherwise.
    let _ = config.max_udp_payload_size(tls::CLIENT_MAX_UDP_PAYLOAD);
    config
}

/// Like [`endpoint`], with the UDP socket's receive buffer asked to be
/// `bytes`: a socket shared by many connections must hold their bursts
/// while the reader is busy. The kernel caps the size
/// (`net.core.rmem_max`); the size granted is returned.
pub fn endpoint_with_receive_buffer(
    addr: SocketAddr,
    options: &ClientOptions,
    bytes: usize,
) -> anyhow::Result<(quinn::Endpoint, usize)> {
    let local: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(local).context("open a UDP socket")?;
    let state =
        quinn::udp::UdpSocketState::new((&socket).into()).context("set up the UDP socket")?;
    state
        .set_recv_buffer_size((&socket).into(), bytes)
        .context("set the UDP receive buffer")?;
    let granted = state.recv_buffer_size((&socket).into()).unwrap_or(0);
    let runtime = quinn::default_runtime().context("no async runtime")?;
    let mut endpoint = quinn::Endpoint::new(endpoint_config(), None, socket, runtime)
        .context("open a QUIC endpoint")?;
    endpoint.set_default_client_config(client_config(options)?);
    Ok((endpoint, granted))
}

/// A QUIC connection to `addr`, nothing more.
pub async fn dial(
    addr: SocketAddr,
    options: &ClientOptions,
) -> anyhow::Result<(quinn::Endpoint, quinn::Connection)> {
    let endpoint = endpoint(addr, options)?;
    let conn = dial_on(&endpoint, addr, options).await?;
    Ok((endpoint, conn))
}

/// A QUIC connection to `addr` from an existing endpoint (see [`endpoint`]).
/// The endpoint's default client configuration is used; of `options`, only
/// the connect timeout applies.
pub async fn dial_on(
    endpoint: &quinn::Endpoint,
    addr: SocketAddr,
    options: &ClientOptions,
) -> anyhow::Result<quinn::Connection> {
    let limit = options.connect_timeout;
    let connecting = endpoint
        .connect(addr, &options.server_name)
        .with_context(|| format!("connect to {addr}"))?;
    let connected = tokio::time::timeout(limit, connecting).await.map_err(|_| {
        anyhow::anyhow!(
            "no answer from {addr} within {} s: is `avrs serve` listening for QUIC there?",
            limit.as_secs_f32()
        )
    })?;
    // A refused certificate reaches quinn as a bare TLS alert; the trust
    // kept the reason.
    connected
        .map_err(|err| match options.server_trust.take_refusal() {
            Some(refusal) => anyhow::Error::new(refusal),
            None => anyhow::Error::new(err),
        })
        .with_context(|| format!("connect to {addr}"))
}

fn client_config(options: &ClientOptions) -> anyhow::Result<quinn::ClientConfig> {
    tls::client_config(&options.alpn, options.receive_window, &options.server_trust)
}

/// The connection's binding value (the TLS exporter both ends compute).
pub fn binding(conn: &quinn::Connection) -> anyhow::Result<[u8; BINDING_SIZE]> {
    let mut out = [0u8; BINDING_SIZE];
    conn.export_keying_material(&mut out, EXPORTER_LABEL, &[])
        .map_err(|_| anyhow::anyhow!("the connection has no TLS exporter"))?;
    Ok(out)
}

/// A signed OPEN bound to `binding`, with the access token if any.
pub fn open_request(
    key: &SigningKey,
    binding: [u8; BINDING_SIZE],
    token: Option<&str>,
) -> anyhow::Result<Vec<u8>> {
    resuming_open_request(key, binding, token, false)
}

/// [`open_request`], asking (`resume`) for the session this key had.
pub fn resuming_open_request(
    key: &SigningKey,
    binding: [u8; BINDING_SIZE],
    token: Option<&str>,
    resume: bool,
) -> anyhow::Result<Vec<u8>> {
    let open = BoundOpen {
        binding,
        token: token.map(str::to_owned),
        resume,
    };
    let unsigned = open.to_packet()?.finish();
    Ok(sign_packet(&unsigned, SESSION_SIGN_CODE, key)?)
}
