//! Loading errors name the file and the problem; handshakes negotiate the
//! hybrid post-quantum group when both sides offer it.

use super::*;
use rustls::NamedGroup;
use std::os::unix::fs::PermissionsExt as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A CA and a server certificate it signed for localhost and 127.0.0.1,
/// written as `ca.pem`, `cert.pem`, `key.pem` (0600) into `dir`.
pub(crate) struct TestPki {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub(crate) fn make_pki(dir: &Path) -> TestPki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    // Distinct names: a leaf whose issuer equals its subject looks
    // self-signed to OpenSSL (curl).
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "avrs test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &issuer).unwrap();
    let pki = TestPki {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&pki.ca, ca_cert.pem()).unwrap();
    std::fs::write(&pki.cert, cert.pem()).unwrap();
    std::fs::write(&pki.key, key.serialize_pem()).unwrap();
    std::fs::set_permissions(&pki.key, std::fs::Permissions::from_mode(0o600)).unwrap();
    pki
}

fn client_config(
    ca: &Path,
    groups: Option<Vec<&'static dyn rustls::crypto::SupportedKxGroup>>,
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if let Some(groups) = groups {
        provider.kx_groups = groups;
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[test]
fn a_matching_certificate_and_key_load() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let identity = TlsIdentity::load(&pki.cert, &pki.key).unwrap();
    assert!(format!("{identity:?}").contains("certificates: 1"));
}

#[test]
fn loading_errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let other = make_pki(&{
        let d = dir.path().join("other");
        std::fs::create_dir(&d).unwrap();
        d
    });
    let missing = dir.path().join("missing.pem");
    let err = TlsIdentity::load(&missing, &pki.key).unwrap_err();
    assert!(matches!(err, TlsError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.pem"), "{err}");

    std::fs::set_permissions(&pki.key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = TlsIdentity::load(&pki.cert, &pki.key)
        .unwrap_err()
        .to_string();
    let key = pki.key.display();
    assert_eq!(
        err,
        format!(
            "TLS key file '{key}' has mode 0644: group/other users may access the private key; run `chmod 600 {key}`"
        )
    );
    std::fs::set_permissions(&pki.key, std::fs::Permissions::from_mode(0o600)).unwrap();

    let err = TlsIdentity::load(&pki.cert, &other.key).unwrap_err();
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("does not match the certificate"),
        "{err}"
    );

    // The key file given as the certificate, and the other way round.
    let err = TlsIdentity::load(&pki.key, &pki.key).unwrap_err();
    assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
    std::fs::set_permissions(&pki.cert, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = TlsIdentity::load(&pki.cert, &pki.cert).unwrap_err();
    assert!(matches!(err, TlsError::NoKey { .. }), "{err}");

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\n!!!\n").unwrap();
    let err = TlsIdentity::load(&garbage, &pki.key).unwrap_err();
    assert!(matches!(err, TlsError::NotPem { .. }), "{err}");
    assert!(err.to_string().contains("is not PEM"), "{err}");

    let err = TlsIdentity::load(dir.path(), &pki.key).unwrap_err();
    assert!(matches!(err, TlsError::NotAFile { .. }), "{err}");
}

#[test]
fn half_a_configuration_is_refused() {
    let config = avrs_config::Config {
        tls_certificate_file: Some("c.pem".into()),
        ..Default::default()
    };
    let err = TlsIdentity::from_config(&config).unwrap_err().to_string();
    assert_eq!(
        err,
        "tls_private_key_file is not set but tls_certificate_file is: set both to use TLS"
    );
    let config = avrs_config::Config {
        rtmps_address: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    };
    let err = TlsIdentity::from_config(&config).unwrap_err().to_string();
    assert_eq!(
        err,
        "rtmps_address is set but tls_certificate_file and tls_private_key_file are not"
    );
    assert!(
        TlsIdentity::from_config(&Default::default())
            .unwrap()
            .is_none()
    );
}

/// One TCP-TLS handshake over an in-memory pipe; returns the group the
/// server negotiated.
async fn tcp_handshake_group(
    pki: &TestPki,
    client_groups: Option<Vec<&'static dyn rustls::crypto::SupportedKxGroup>>,
) -> NamedGroup {
    let identity = TlsIdentity::load(&pki.cert, &pki.key).unwrap();
    let acceptor = identity.tcp_acceptor(HTTPS_ALPN).unwrap();
    let connector =
        tokio_rustls::TlsConnector::from(Arc::new(client_config(&pki.ca, client_groups)));
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let mut stream = acceptor.accept(server_io).await.unwrap();
        let group = stream
            .get_ref()
            .1
            .negotiated_key_exchange_group()
            .unwrap()
            .name();
        let mut hello = [0u8; 5];
        stream.read_exact(&mut hello).await.unwrap();
        stream.write_all(b"world").await.unwrap();
        stream.shutdown().await.unwrap();
        (group, hello)
    });
    let name = ServerName::try_from("localhost").unwrap();
    let mut client = connector.connect(name, client_io).await.unwrap();
    let client_group = client
        .get_ref()
        .1
        .negotiated_key_exchange_group()
        .unwrap()
        .name();
    client.write_all(b"hello").await.unwrap();
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).await.unwrap();
    assert_eq!(reply, b"world");
    let (group, hello) = server.await.unwrap();
    assert_eq!(&hello, b"hello");
    assert_eq!(group, client_group);
    group
}

use rustls::pki_types::ServerName;

#[tokio::test]
async fn https_and_rtmps_negotiate_x25519mlkem768_when_both_offer_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let group = tcp_handshake_group(&pki, None).await;
    assert_eq!(group, NamedGroup::X25519MLKEM768);
    // A client without ML-KEM still gets in, with classical X25519.
    let classical = vec![rustls::crypto::aws_lc_rs::kx_group::X25519];
    let group = tcp_handshake_group(&pki, Some(classical)).await;
    assert_eq!(group, NamedGroup::X25519);
}

#[test]
fn quic_negotiates_x25519mlkem768_with_the_configured_certificate() {
    use rustls::quic::{ClientConnection, ServerConnection, Version};
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let identity = TlsIdentity::load(&pki.cert, &pki.key).unwrap();
    // The same call native::tls::server_config makes with an identity.
    let alpn = avrs_proto::avrs::quic::ALPN;
    let server_config = identity
        .server_config(&[&rustls::version::TLS13], &[alpn])
        .unwrap();
    let mut client_config = client_config(&pki.ca, None);
    client_config.alpn_protocols = vec![alpn.to_vec()];
    let name = ServerName::try_from("localhost").unwrap();
    let params = b"transport parameters".to_vec();
    let mut client =
        ClientConnection::new(Arc::new(client_config), Version::V1, name, params.clone()).unwrap();
    let mut server = ServerConnection::new(Arc::new(server_config), Version::V1, params).unwrap();
    // Handshake data moves one encryption level at a time; a few rounds
    // finish it.
    for _ in 0..16 {
        let mut buf = Vec::new();
        let _ = client.write_hs(&mut buf);
        if !buf.is_empty() {
            server.read_hs(&buf).unwrap();
        }
        let mut buf = Vec::new();
        let _ = server.write_hs(&mut buf);
        if !buf.is_empty() {
            client.read_hs(&buf).unwrap();
        }
        if !client.is_handshaking() && !server.is_handshaking() {
            break;
        }
    }
    assert!(!client.is_handshaking() && !server.is_handshaking());
    let group = server.negotiated_key_exchange_group().unwrap().name();
    assert_eq!(group, NamedGroup::X25519MLKEM768);
}
