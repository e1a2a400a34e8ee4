//! X.509 TLS for the node's listeners: HTTPS, RTMPS, and the certificate
//! QUIC presents. The chain and key come from `tls_certificate_file` and
//! `tls_private_key_file`; they are distinct from the avrs member
//! certificate and signing key. Read once at start (no reloading).
//!
//! One crypto provider, aws-lc-rs, whose key exchange groups (rustls
//! `prefer-post-quantum`) offer the hybrid X25519MLKEM768 first, then
//! X25519, P-256, P-384 for clients without ML-KEM.

mod error;
mod listener;
mod listeners;

pub use error::TlsError;
pub use listener::{TlsListener, accept_tls};
pub(crate) use listeners::SecureListeners;

/// The peer address of HTTPS requests (see [`listener::TlsPeer`]).
pub mod listener_peer {
    pub use super::listener::{TlsPeer, peer_as_socket_addr};
}

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// A certificate chain file larger than this is refused before reading on
/// (a long chain of RSA-4096 certificates is ~10 KiB).
const MAX_CERTIFICATE_FILE: usize = 1024 * 1024;
/// A key file larger than this is refused (an RSA-8192 PEM key is ~6 KiB).
const MAX_KEY_FILE: usize = 64 * 1024;

/// From accept to the end of a TLS handshake: a client that sends nothing
/// (or too little) gives up its slot after this long.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The ALPN protocols HTTPS offers (HTTP/1.1 only: the router is served
/// with axum's HTTP/1 connection builder).
pub const HTTPS_ALPN: &[&[u8]] = &[b"http/1.1"];

/// The crypto provider of every TLS endpoint of the node.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A certificate chain and its private key, checked to belong together.
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for TlsIdentity {
    /// Never shows the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Reads and checks the PEM chain and key: the key file must be mode
    /// 0600, both must be PEM, and the key must be the leaf's.
    pub fn load(certificate_file: &Path, key_file: &Path) -> Result<Self, TlsError> {
        const CERT: &str = "TLS certificate file";
        const KEY: &str = "TLS key file";
        let cert_text = read_capped(certificate_file, CERT, MAX_CERTIFICATE_FILE, false)?;
        let chain = CertificateDer::pem_slice_iter(&cert_text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| not_pem(CERT, certificate_file, e))?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate {
                file: certificate_file.to_owned(),
            });
        }
        let key_text = read_capped(key_file, KEY, MAX_KEY_FILE, true)?;
        let key = match PrivateKeyDer::from_pem_slice(&key_text) {
            Ok(key) => key,
            Err(pem::Error::NoItemsFound) => {
                return Err(TlsError::NoKey {
                    file: key_file.to_owned(),
                });
            }
            Err(e) => return Err(not_pem(KEY, key_file, e)),
        };
        let identity = Self { chain, key };
        identity.check(certificate_file, key_file)?;
        Ok(identity)
    }

    /// Reads the files a configuration names; `None` when it names none.
    /// Addresses of TLS listeners without the files, or one file without
    /// the other, are errors.
    pub fn from_config(config: &avrs_config::Config) -> Result<Option<Self>, TlsError> {
        match (&config.tls_certificate_file, &config.tls_private_key_file) {
            (Some(cert), Some(key)) => Self::load(cert, key).map(Some),
            (Some(_), None) => Err(TlsError::HalfConfigured {
                set: "tls_certificate_file",
                missing: "tls_private_key_file",
            }),
            (None, Some(_)) => Err(TlsError::HalfConfigured {
                set: "tls_private_key_file",
                missing: "tls_certificate_file",
            }),
            (None, None) if config.https_address.is_some() => Err(TlsError::NoTlsFiles {
                address_key: "https_address",
            }),
            (None, None) if config.rtmps_address.is_some() => Err(TlsError::NoTlsFiles {
                address_key: "rtmps_address",
            }),
            (None, None) => Ok(None),
        }
    }

    /// The leaf certificate (whose fingerprint native players pin).
    pub fn leaf(&self) -> Option<&CertificateDer<'static>> {
        self.chain.first()
    }

    /// A rustls server configuration with this identity, the node's
    /// provider, the given protocol versions and ALPN protocols.
    pub fn server_config(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
        alpn: &[&[u8]],
    ) -> Result<rustls::ServerConfig, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config.max_early_data_size = 0;
        Ok(config)
    }

    /// The acceptor of TCP listeners (HTTPS, RTMPS): TLS 1.3 and 1.2.
    pub fn tcp_acceptor(&self, alpn: &[&[u8]]) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
        let versions = [&rustls::version::TLS13, &rustls::version::TLS12];
        let config = self.server_config(&versions, alpn)?;
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }

    /// The key must load with the provider and be the leaf certificate's.
    fn check(&self, certificate_file: &Path, key_file: &Path) -> Result<(), TlsError> {
        let signer = provider()
            .key_provider
            .load_private_key(self.key.clone_key())
            .map_err(|e| TlsError::UnusableKey {
                file: key_file.to_owned(),
                reason: e.to_string(),
            })?;
        let certified = rustls::sign::CertifiedKey::new(self.chain.clone(), signer);
        match certified.keys_match() {
            Ok(()) => Ok(()),
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                Err(TlsError::KeyMismatch {
                    key: key_file.to_owned(),
                    certificate: certificate_file.to_owned(),
                })
            }
            // The provider cannot tell (no public key for this key type):
            // the first handshake will.
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(()),
            Err(e) => Err(TlsError::BadCertificate {
                file: certificate_file.to_owned(),
                reason: e.to_string(),
            }),
        }
    }
}

fn not_pem(what: &'static str, file: &Path, error: pem::Error) -> TlsError {
    TlsError::NotPem {
        what,
        file: file.to_owned(),
        reason: error.to_string(),
    }
}

/// Reads at most `limit` bytes of a regular file, checked on the opened
/// descriptor; a secret file must give no access to group or others.
fn read_capped(
    path: &Path,
    what: &'static str,
    limit: usize,
    secret: bool,
) -> Result<Zeroizing<Vec<u8>>, TlsError> {
    let file_name = || PathBuf::from(path);
    let read_error = |e: std::io::Error| TlsError::Read {
        what,
        file: file_name(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(TlsError::NotAFile {
            what,
            file: file_name(),
        });
    }
    if secret {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(TlsError::KeyFileMode {
                file: file_name(),
                mode,
            });
        }
    }
    // Sized once, so no reallocation leaves a copy of a key behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(limit.min(64 * 1024) + 1));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap).read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() > limit {
        return Err(TlsError::TooLarge {
            what,
            file: file_name(),
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests;
