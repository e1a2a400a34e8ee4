//! TLS 1.3 and QUIC transport settings of native AVRS, server and client.
//!
//! One crypto provider, aws-lc-rs, whose default key exchange groups put
//! the hybrid post-quantum X25519MLKEM768 first. The server presents the
//! configured X.509 certificate (`tls_certificate_file`, see
//! [`crate::tls`]) or, without one, a self-signed certificate (rcgen),
//! kept under the data directory when the node has one so that it stays
//! the same across restarts. The native client checks it as its
//! [`ServerTrust`] says: a CA (`avrs play --ca FILE`), the system's roots,
//! an exact fingerprint, or trust on first use in a known-hosts file
//! (`avrs play`'s default); or not at all (`Insecure`: connections inside
//! a cluster, tests). See docs/security.md, "Transport".

mod known_hosts;
mod self_signed;
#[cfg(test)]
mod tests;
mod trust;
mod verifiers;

pub use known_hosts::Fingerprint;
pub use trust::{KnownHostsTrust, Pinned, ServerTrust, TrustError, TrustNotice, system_roots};

use crate::tls::TlsIdentity;
use anyhow::Context as _;
use avrs_proto::avrs::quic::ALPN;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::crypto::CryptoProvider;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A silent connection is dropped after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes the server may keep queued for one connection. Bounds how far a
/// slow viewer can fall behind before its old groups are dropped (about 6 s
/// at 2.5 Mbit/s); queued frames are shared `Bytes`, not copies.
const SERVER_SEND_WINDOW: u64 = 2 * 1024 * 1024;

/// The default `quic_max_mtu`, quinn's: the UDP payload of a 1500-byte
/// Ethernet frame under IPv6.
pub const DEFAULT_MAX_MTU: u16 = 1452;

/// Largest UDP payload a client lets a server send it (its
/// `max_udp_payload_size` transport parameter): room for a node
/// configured with a bigger `quic_max_mtu` (loopback, jumbo frames). Costs
/// nothing per connection: quinn sizes the endpoint's receive buffer from
/// it (32 MiB of address space, touched only as big datagrams arrive).
pub const CLIENT_MAX_UDP_PAYLOAD: u16 = 16 * 1024;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A QUIC server configuration presenting `identity` or, when the node
/// has none, the self-signed certificate kept in `self_signed_dir` (made
/// there at the first start; with no directory, a new one each start), and
/// that certificate's fingerprint (what players pin). Datagrams of at most
/// `max_mtu` bytes (`quic_max_mtu`, see [`datagram_size`]).
pub fn server_config(
    identity: Option<&TlsIdentity>,
    self_signed_dir: Option<&Path>,
    max_mtu: u16,
) -> anyhow::Result<(quinn::ServerConfig, Fingerprint)> {
    let (tls, fingerprint) = match identity {
        Some(identity) => {
            let tls = identity
                .server_config(&[&rustls::version::TLS13], &[ALPN])
                .context("install the QUIC certificate")?;
            let leaf = identity
                .leaf()
                .context("the TLS identity has no certificate")?;
            (tls, Fingerprint::of(leaf))
        }
        None => self_signed_config(self_signed_dir)?,
    };
    let crypto = QuicServerConfig::try_from(tls).context("QUIC TLS configuration")?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_idle_timeout(Some(IDLE_TIMEOUT.try_into().expect("30 s fits")))
        // One control stream per connection; clients open no uni streams.
        .max_concurrent_bidi_streams(1u32.into())
        .max_concurrent_uni_streams(0u32.into())
        // Clients send no datagrams: refused, so none are buffered (by
        // default up to 1.25 MB per connection).
        .datagram_receive_buffer_size(None)
        .send_window(SERVER_SEND_WINDOW);
    datagram_size(&mut transport, max_mtu);
    config.transport_config(Arc::new(transport));
    Ok((config, fingerprint))
}

/// Path MTU discovery up to `max_mtu`, and segmentation offload (GSO) only
/// for datagrams of Ethernet size.
///
/// Per-packet work (packet building, AEAD and header protection, ACK
/// bookkeeping, one ACK per two packets back) is most of a viewer's cost,
/// so where the path carries bigger datagrams (loopback, jumbo-frame LANs)
/// fewer packets cost less CPU. With GSO quinn builds up to 10 datagrams
/// per system call and keeps a buffer of 10 × MTU per connection; the
/// kernel refuses a batch over 64 KiB (quinn drops it silently), and a big
/// datagram needs no batching: one per system call, one MTU of buffer.
/// Datagrams of Ethernet size keep GSO, without which a viewer costs ~28 %
/// more CPU (docs/BENCHMARKS.md).
pub fn datagram_size(transport: &mut quinn::TransportConfig, max_mtu: u16) {
    let mut discovery = quinn::MtuDiscoveryConfig::default();
    discovery.upper_bound(max_mtu);
    transport
        .mtu_discovery_config(Some(discovery))
        .enable_segmentation_offload(max_mtu <= DEFAULT_MAX_MTU);
}

/// The TLS half of [`client_config`].
fn client_tls(alpn: &[u8], trust: &ServerTrust) -> anyhow::Result<rustls::ClientConfig> {
    let provider = provider();
    let verifier =
        verifiers::for_trust(trust, &provider).context("the server certificate check")?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("TLS 1.3 with aws-lc-rs")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    tls.alpn_protocols = vec![alpn.to_vec()];
    Ok(tls)
}

/// TLS 1.3 with the self-signed certificate ([`self_signed`]).
fn self_signed_config(dir: Option<&Path>) -> anyhow::Result<(rustls::ServerConfig, Fingerprint)> {
    let (cert, key) = self_signed::load_or_make(dir)?;
    let fingerprint = Fingerprint::of(&cert);
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("TLS 1.3 with aws-lc-rs")?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .context("install the QUIC certificate")?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.max_early_data_size = 0;
    Ok((tls, fingerprint))
}

/// The certificates of a PEM file as trust roots for [`client_config`].
pub fn load_roots(path: &std::path::Path) -> anyhow::Result<Arc<rustls::RootCertStore>> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    for cert in certs {
        let cert = cert.with_context(|| format!("{}: not a PEM certificate", path.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("{}: not a usable CA certificate", path.display()))?;
    }
    anyhow::ensure!(
        !roots.is_empty(),
        "{}: no certificate in it",
        path.display()
    );
    Ok(Arc::new(roots))
}

/// A QUIC client configuration offering `alpn` (tests offer a wrong one)
/// and receiving at most `receive_window` bytes ahead per stream (twice
/// that per connection) before the server must wait. The server's
/// certificate is checked as `trust` says; in every mode the TLS handshake
/// signature is verified, so the peer holds the certificate's key.
pub fn client_config(
    alpn: &[u8],
    receive_window: u32,
    trust: &ServerTrust,
) -> anyhow::Result<quinn::ClientConfig> {
    let tls = client_tls(alpn, trust)?;
    let crypto = QuicClientConfig::try_from(tls).context("QUIC TLS configuration")?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_idle_timeout(Some(IDLE_TIMEOUT.try_into().expect("30 s fits")))
        // Keeps a session alive while a content waits for its publisher,
        // and lets a player tell a silent server (1 s of nothing after a
        // ping) from a silent stream.
        .keep_alive_interval(Some(Duration::from_secs(1)))
        .max_concurrent_bidi_streams(0u32.into())
        // A few groups in flight at a time; room for bursts after a stall.
        .max_concurrent_uni_streams(64u32.into())
        .stream_receive_window(receive_window.into())
        .receive_window(receive_window.saturating_mul(2).into());
    config.transport_config(Arc::new(transport));
    Ok(config)
}
