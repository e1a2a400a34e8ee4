//! Transport settings, and every [`ServerTrust`] mode through a real TLS 1.3
//! handshake (rustls' QUIC connections, in memory): what is accepted, what
//! is refused and why, what the known-hosts file holds afterwards.

use super::*;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::quic::{ClientConnection, ServerConnection, Version};
use std::sync::Mutex;

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
    assert!(server_config(None, None, 8952).is_ok());
}

/// A certificate and the key it names.
struct Identity {
    cert: CertificateDer<'static>,
    key: rcgen::KeyPair,
}

impl Identity {
    /// Self-signed, like a node's default one.
    fn self_signed() -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["avrs".to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap().der().clone();
        Self { cert, key }
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.cert)
    }

    fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der()))
    }
}

/// A CA (as the "system" roots) and a leaf it signed for localhost.
fn ca_and_leaf() -> (Arc<rustls::RootCertStore>, Identity) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test root");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap().der().clone();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca_cert.der().clone()).unwrap();
    (Arc::new(roots), Identity { cert, key })
}

/// The server side: `cert`, proving possession with `key`'s signature.
/// A key that is not the certificate's is a server replaying a
/// certificate it does not own.
#[derive(Debug)]
struct Presents(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Presents {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn server_tls(cert: &Identity, key: &Identity) -> rustls::ServerConfig {
    let signer = provider()
        .key_provider
        .load_private_key(key.key_der())
        .unwrap();
    let certified = rustls::sign::CertifiedKey::new(vec![cert.cert.clone()], signer);
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Presents(Arc::new(certified))));
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls
}

/// A handshake of a client with `trust`, asking for `name`, with a server
/// showing `cert` signed with `key`'s key: the first error either side
/// hits.
fn handshake(
    trust: &ServerTrust,
    name: &str,
    cert: &Identity,
    key: &Identity,
) -> Result<(), rustls::Error> {
    let client_tls = Arc::new(client_tls(ALPN, trust).unwrap());
    let server_tls = Arc::new(server_tls(cert, key));
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let params = b"transport parameters".to_vec();
    let mut client = ClientConnection::new(client_tls, Version::V1, name, params.clone())?;
    let mut server = ServerConnection::new(server_tls, Version::V1, params)?;
    // Handshake data moves one encryption level at a time; a few rounds
    // finish it.
    for _ in 0..16 {
        let mut buf = Vec::new();
        let _ = client.write_hs(&mut buf);
        if !buf.is_empty() {
            server.read_hs(&buf)?;
        }
        let mut buf = Vec::new();
        let _ = server.write_hs(&mut buf);
        if !buf.is_empty() {
            client.read_hs(&buf)?;
        }
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
    }
    panic!("the handshake did not finish");
}

/// What a known-hosts trust told, as text.
type Told = Arc<Mutex<Vec<String>>>;

fn known_hosts_trust(
    file: &Path,
    server: &str,
    system: Option<Arc<rustls::RootCertStore>>,
) -> (ServerTrust, Told) {
    let told = Told::default();
    let sink = told.clone();
    let trust = KnownHostsTrust::new(file.to_owned(), server, system, move |notice| {
        sink.lock().unwrap().push(format!("{notice:?}"));
    });
    (ServerTrust::KnownHosts(trust), told)
}

#[test]
fn first_contact_pins_the_same_certificate_passes_a_changed_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("avrs/known_hosts");
    let (trust, told) = known_hosts_trust(&file, "Node.Example:4433", None);
    let server = Identity::self_signed();

    handshake(&trust, "node.example", &server, &server).unwrap();
    let pinned = std::fs::read_to_string(&file).unwrap();
    let line = format!("node.example:4433 {}\n", server.fingerprint());
    assert!(pinned.ends_with(&line), "{pinned}");
    assert_eq!(told.lock().unwrap().len(), 1);
    assert!(told.lock().unwrap()[0].starts_with("Pinned"));

    handshake(&trust, "node.example", &server, &server).unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), pinned);
    assert_eq!(told.lock().unwrap().len(), 1, "nothing new to tell");

    let impostor = Identity::self_signed();
    let err = handshake(&trust, "node.example", &impostor, &impostor).unwrap_err();
    assert!(matches!(err, rustls::Error::InvalidCertificate(_)), "{err}");
    let refusal = trust.take_refusal().expect("the reason was kept");
    let text = refusal.to_string();
    assert!(
        matches!(refusal, TrustError::Changed { line: 3, .. }),
        "{refusal:?}"
    );
    for shown in [
        "the certificate of node.example:4433 changed".to_owned(),
        server.fingerprint().to_string(),
        impostor.fingerprint().to_string(),
        format!("remove line 3 from {}", file.display()),
        "--ca".to_owned(),
    ] {
        assert!(text.contains(&shown), "{shown:?} in {text}");
    }
    assert!(trust.take_refusal().is_none(), "told once");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), pinned);
}

#[test]
fn a_replayed_certificate_without_its_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known_hosts");
    let (trust, _) = known_hosts_trust(&file, "node.example:4433", None);
    let server = Identity::self_signed();
    handshake(&trust, "node.example", &server, &server).unwrap();
    let pinned = std::fs::read_to_string(&file).unwrap();
    // The pinned certificate, signed for with another key.
    let thief = Identity::self_signed();
    for trust in [trust, ServerTrust::pin(server.fingerprint())] {
        let err = handshake(&trust, "node.example", &server, &thief).unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature)
            ),
            "{err}"
        );
        assert!(
            trust.take_refusal().is_none(),
            "the certificate itself passed"
        );
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), pinned);
}

#[test]
fn a_certificate_the_system_roots_vouch_for_needs_no_pin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known_hosts");
    let (roots, leaf) = ca_and_leaf();
    let (trust, told) = known_hosts_trust(&file, "localhost:4433", Some(roots.clone()));
    handshake(&trust, "localhost", &leaf, &leaf).unwrap();
    assert!(!file.exists(), "nothing pinned");
    assert!(told.lock().unwrap().is_empty());
    // Not valid for the name asked for: pinned like a self-signed one.
    let (trust, _) = known_hosts_trust(&file, "other.example:4433", Some(roots.clone()));
    handshake(&trust, "other.example", &leaf, &leaf).unwrap();
    let pinned = std::fs::read_to_string(&file).unwrap();
    assert!(pinned.contains(&format!("other.example:4433 {}", leaf.fingerprint())));
    // --system-roots alone: the same certificate passes, a self-signed one
    // is refused.
    let system = ServerTrust::System(roots);
    handshake(&system, "localhost", &leaf, &leaf).unwrap();
    let own = Identity::self_signed();
    let err = handshake(&system, "localhost", &own, &own).unwrap_err();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
}

#[test]
fn a_pin_accepts_its_certificate_only() {
    let server = Identity::self_signed();
    let other = Identity::self_signed();
    let trust = ServerTrust::pin(server.fingerprint());
    handshake(&trust, "avrs", &server, &server).unwrap();
    assert!(handshake(&trust, "avrs", &other, &other).is_err());
    let text = trust.take_refusal().unwrap().to_string();
    let expected = format!(
        "the certificate of avrs is {}, not the pinned {}",
        other.fingerprint(),
        server.fingerprint()
    );
    assert_eq!(text, expected);
    // Unchecked: anything goes.
    handshake(&ServerTrust::Insecure, "avrs", &other, &other).unwrap();
}

#[test]
fn a_bad_line_refuses_its_own_server_only_and_is_told_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known_hosts");
    std::fs::write(&file, "broken.example:4433 sha256:00\nnonsense\n").unwrap();
    let server = Identity::self_signed();
    let (trust, told) = known_hosts_trust(&file, "broken.example:4433", None);
    assert!(handshake(&trust, "broken.example", &server, &server).is_err());
    let refusal = trust.take_refusal().unwrap().to_string();
    assert!(refusal.contains("line 1"), "{refusal}");
    // Another server is pinned; the bad lines are told about once.
    let other = trust.for_server("fine.example:4433");
    handshake(&other, "fine.example", &server, &server).unwrap();
    handshake(&other, "fine.example", &server, &server).unwrap();
    let told = told.lock().unwrap().clone();
    let ignored = told.iter().filter(|t| t.starts_with("Ignored")).count();
    assert_eq!(ignored, 2, "{told:?}");
    assert_eq!(told.len(), 3, "{told:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("broken.example:4433 sha256:00\nnonsense\n"));
    assert!(text.contains("fine.example:4433 sha256:"), "{text}");
}
