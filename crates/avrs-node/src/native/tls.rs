//! TLS 1.3 and QUIC transport settings of native AVRS, server and client.
//!
//! One crypto provider, aws-lc-rs, whose default key exchange groups put
//! the hybrid post-quantum X25519MLKEM768 first. The server presents the
//! configured X.509 certificate (`tls_certificate_file`, see
//! [`crate::tls`]) or, without one, a self-signed certificate made at start
//! (rcgen). The native client checks it when given roots
//! ([`load_roots`], `avrs play --ca FILE`); otherwise it accepts it
//! unchecked, the session's authenticity then resting on the signed,
//! connection-bound OPEN and the signed content origin (docs/security.md,
//! "Transport").

use crate::tls::TlsIdentity;
use anyhow::Context as _;
use avrs_proto::avrs::quic::ALPN;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;

/// Names in the self-signed certificate.
const CERT_NAMES: [&str; 2] = ["avrs", "localhost"];

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

/// A QUIC server configuration presenting `identity`, or a fresh
/// self-signed certificate when the node has none; datagrams of at most
/// `max_mtu` bytes (`quic_max_mtu`, see [`datagram_size`]).
pub fn server_config(
    identity: Option<&TlsIdentity>,
    max_mtu: u16,
) -> anyhow::Result<quinn::ServerConfig> {
    let tls = match identity {
        Some(identity) => identity
            .server_config(&[&rustls::version::TLS13], &[ALPN])
            .context("install the QUIC certificate")?,
        None => self_signed_config()?,
    };
    let crypto = QuicServerConfig::try_from(tls).context("QUIC TLS configuration")?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_idle_timeout(Some(IDLE_TIMEOUT.try_into().expect("30 s fits")))
        // One control stream per connection; clients open no uni streams.
        .max_concurrent_bidi_streams(1u32.into())
        .max_concurrent_uni_streams(0u32.into())
        .send_window(SERVER_SEND_WINDOW);
    datagram_size(&mut transport, max_mtu);
    config.transport_config(Arc::new(transport));
    Ok(config)
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

/// TLS 1.3 with a self-signed certificate made now.
fn self_signed_config() -> anyhow::Result<rustls::ServerConfig> {
    let names: Vec<String> = CERT_NAMES.iter().map(|n| n.to_string()).collect();
    let certified =
        rcgen::generate_simple_self_signed(names).context("generate the QUIC certificate")?;
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("TLS 1.3 with aws-lc-rs")?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .context("install the QUIC certificate")?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.max_early_data_size = 0;
    Ok(tls)
}

/// The certificates of a PEM file as trust roots for [`client_config`].
pub fn load_roots(path: &std::path::Path) -> anyhow::Result<Arc<rustls::RootCertStore>> {
    use rustls::pki_types::pem::PemObject;
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
/// that per connection) before the server must wait. With `roots`, the
/// server's certificate must chain to them (and name the server); without,
/// it is accepted unchecked (see the module comment), the TLS handshake
/// signature still verified, so the peer holds the certificate's key.
pub fn client_config(
    alpn: &[u8],
    receive_window: u32,
    roots: Option<Arc<rustls::RootCertStore>>,
) -> anyhow::Result<quinn::ClientConfig> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("TLS 1.3 with aws-lc-rs")?;
    let mut tls = match roots {
        Some(roots) => builder.with_root_certificates(roots).with_no_client_auth(),
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(UncheckedServerCert(provider)))
            .with_no_client_auth(),
    };
    tls.alpn_protocols = vec![alpn.to_vec()];
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

/// Accepts any server certificate; checks only the handshake signature.
#[derive(Debug)]
struct UncheckedServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for UncheckedServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// quinn's settings are private; its `Debug` output shows them.
    #[test]
    fn datagrams_above_ethernet_size_go_without_segmentation_offload() {
        for (mtu, gso) in [
            (1200, true),
            (DEFAULT_MAX_MTU, true),
            (1453, false),
            (8952, false),
            (65527, false),
        ] {
            let mut transport = quinn::TransportConfig::default();
            datagram_size(&mut transport, mtu);
            let shown = format!("{transport:?}");
            assert!(shown.contains(&format!("upper_bound: {mtu},")), "{shown}");
            let offload = format!("enable_segmentation_offload: {gso}");
            assert!(shown.contains(&offload), "{shown}");
        }
        assert!(server_config(None, 8952).is_ok());
    }
}
