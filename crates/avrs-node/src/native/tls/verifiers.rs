//! The rustls certificate verifiers of [`ServerTrust`]'s modes that are not
//! plain WebPKI. Each verifies the TLS 1.3 handshake signature with the
//! provider's algorithms, so a server that merely replays a certificate
//! (without its key) fails whatever the certificate check said.

use super::known_hosts::Fingerprint;
use super::trust::{KnownHostsTrust, Pinned, ServerTrust};
use rustls::RootCertStore;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{VerifierBuilderError, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// The certificate verifier of `trust`'s mode: rustls' WebPKI one for
/// roots ([`ServerTrust::Ca`], [`ServerTrust::System`]), else one of ours.
pub(super) fn for_trust(
    trust: &ServerTrust,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, VerifierBuilderError> {
    let signatures = Signatures(provider.clone());
    Ok(match trust {
        ServerTrust::Ca(roots) | ServerTrust::System(roots) => webpki(roots, provider)?,
        ServerTrust::Insecure => Arc::new(UncheckedServerCert { signatures }),
        ServerTrust::Pin(pinned) => Arc::new(PinnedCert {
            pinned: pinned.clone(),
            signatures,
        }),
        ServerTrust::KnownHosts(trust) => Arc::new(KnownHostsCert {
            trust: trust.clone(),
            // No usable system roots: every certificate goes to the file.
            system: trust
                .system_roots()
                .and_then(|roots| webpki(roots, provider).ok()),
            signatures,
        }),
    })
}

/// Chains to `roots` and names the server (an empty store is an error).
fn webpki(
    roots: &Arc<RootCertStore>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, VerifierBuilderError> {
    WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone()).build()
}

/// The handshake signature checks every verifier shares.
#[derive(Debug)]
struct Signatures(Arc<CryptoProvider>);

impl Signatures {
    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The error rustls gets for a refusal whose reason went to the trust's
/// [`super::trust::Refusals`] (rustls only sends the peer an alert).
fn refused() -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
}

/// The host of a server name, for messages.
fn host_of(name: &ServerName<'_>) -> String {
    name.to_str().into_owned()
}

/// Implements the signature half of [`ServerCertVerifier`] through the
/// verifier's `signatures` field.
macro_rules! signature_checks {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.signatures.tls12(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.signatures.tls13(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.signatures.schemes()
        }
    };
}

/// Accepts any server certificate ([`ServerTrust::Insecure`]).
#[derive(Debug)]
struct UncheckedServerCert {
    signatures: Signatures,
}

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

    signature_checks!();
}

/// Accepts exactly one certificate ([`ServerTrust::Pin`]).
#[derive(Debug)]
struct PinnedCert {
    pinned: Pinned,
    signatures: Signatures,
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of(end_entity);
        match self.pinned.check(&host_of(server_name), presented) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(err) => {
                self.pinned.refusals.set(err);
                Err(refused())
            }
        }
    }

    signature_checks!();
}

/// The system's roots, else the known-hosts file
/// ([`ServerTrust::KnownHosts`]).
#[derive(Debug)]
struct KnownHostsCert {
    trust: KnownHostsTrust,
    system: Option<Arc<WebPkiServerVerifier>>,
    signatures: Signatures,
}

impl KnownHostsCert {
    fn valid_publicly(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> bool {
        self.system.as_ref().is_some_and(|system| {
            system
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .is_ok()
        })
    }
}

impl ServerCertVerifier for KnownHostsCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // A certificate the system's roots vouch for, naming the server,
        // needs no pin (browser-like); anything else is pinned (SSH-like).
        if self.valid_publicly(end_entity, intermediates, server_name, ocsp_response, now) {
            return Ok(ServerCertVerified::assertion());
        }
        match self.trust.check(Fingerprint::of(end_entity)) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(err) => {
                self.trust.refusals().set(err);
                Err(refused())
            }
        }
    }

    signature_checks!();
}
