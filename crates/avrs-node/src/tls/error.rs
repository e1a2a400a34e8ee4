//! Why the TLS certificate or key could not be used. Every message names
//! the file and what is wrong with it, for the operator who must fix it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{what} '{}' cannot be read: {reason}", file.display())]
    Read {
        what: &'static str,
        file: PathBuf,
        reason: String,
    },
    #[error("{what} '{}' is not a regular file", file.display())]
    NotAFile { what: &'static str, file: PathBuf },
    #[error("{what} '{}' is larger than {limit} bytes", file.display())]
    TooLarge {
        what: &'static str,
        file: PathBuf,
        limit: usize,
    },
    #[error(
        "TLS key file '{file}' has mode {mode:04o}: group/other users may access the private key; run `chmod 600 {file}`",
        file = file.display()
    )]
    KeyFileMode { file: PathBuf, mode: u32 },
    #[error("{what} '{}' is not PEM: {reason}", file.display())]
    NotPem {
        what: &'static str,
        file: PathBuf,
        reason: String,
    },
    #[error(
        "TLS certificate file '{}' holds no certificate (expected -----BEGIN CERTIFICATE-----)",
        file.display()
    )]
    NoCertificate { file: PathBuf },
    #[error(
        "TLS key file '{}' holds no private key (expected -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)",
        file.display()
    )]
    NoKey { file: PathBuf },
    #[error("TLS key file '{}' holds a key that cannot be used: {reason}", file.display())]
    UnusableKey { file: PathBuf, reason: String },
    #[error(
        "TLS key file '{}' does not match the certificate in '{}'",
        key.display(),
        certificate.display()
    )]
    KeyMismatch { key: PathBuf, certificate: PathBuf },
    #[error("TLS certificate file '{}' cannot be used: {reason}", file.display())]
    BadCertificate { file: PathBuf, reason: String },
    #[error("{missing} is not set but {set} is: set both to use TLS")]
    HalfConfigured {
        set: &'static str,
        missing: &'static str,
    },
    #[error("{address_key} is set but tls_certificate_file and tls_private_key_file are not")]
    NoTlsFiles { address_key: &'static str },
    #[error("TLS configuration: {0}")]
    Config(String),
}
