//! Whom a native client believes: [`ServerTrust`], the ways the server's
//! certificate can be checked, and what a refusal says.

use super::known_hosts::{self, Fingerprint, Verdict};
use rustls::RootCertStore;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How a native client checks the server's QUIC certificate. Whatever the
/// mode, the TLS handshake signature is verified, so the server holds the
/// key of the certificate it shows.
#[derive(Clone, Debug, Default)]
pub enum ServerTrust {
    /// Any certificate: connections inside a cluster (relays, key-only
    /// sessions of a player started that way), tests and labs
    /// (`avrs play --insecure`).
    #[default]
    Insecure,
    /// It must chain to these roots and name the server (`--ca FILE`).
    Ca(Arc<RootCertStore>),
    /// It must chain to the operating system's roots and name the server
    /// (`--system-roots`): servers with a public certificate.
    System(Arc<RootCertStore>),
    /// It must be exactly this certificate (`--pin sha256:HEX`).
    Pin(Pinned),
    /// Trust on first use (`avrs play`'s default): a certificate that
    /// chains to the system's roots and names the server is accepted;
    /// otherwise it is pinned in a known-hosts file at first contact and
    /// must stay the same.
    KnownHosts(KnownHostsTrust),
}

impl ServerTrust {
    /// The operating system's roots, or an error when it has none.
    pub fn system() -> Result<Self, TrustError> {
        system_roots()
            .map(Self::System)
            .ok_or(TrustError::NoSystemRoots)
    }

    /// Exactly the certificate with this fingerprint.
    pub fn pin(fingerprint: Fingerprint) -> Self {
        Self::Pin(Pinned {
            fingerprint,
            refusals: Refusals::default(),
        })
    }

    /// The same trust for a server reached at `server` (`HOST:PORT`)
    /// rather than the one first named: the node a balancer chose, the
    /// origin holding a content's key. A known-hosts trust keeps that
    /// server's pin under its own name; the other modes apply as they are.
    pub fn for_server(&self, server: &str) -> Self {
        match self {
            Self::KnownHosts(trust) => Self::KnownHosts(KnownHostsTrust {
                server: known_hosts::server_key(server),
                ..trust.clone()
            }),
            other => other.clone(),
        }
    }

    /// Why the last certificate was refused, once: the TLS layer only
    /// carries an alert code, so the connecting side asks here.
    pub fn take_refusal(&self) -> Option<TrustError> {
        match self {
            Self::Pin(pinned) => pinned.refusals.take(),
            Self::KnownHosts(trust) => trust.refusals.take(),
            _ => None,
        }
    }
}

/// The operating system's root certificates (`rustls-native-certs`:
/// `/etc/ssl/certs` and the like, `SSL_CERT_FILE` and `SSL_CERT_DIR`
/// when set); `None` when none can be used.
pub fn system_roots() -> Option<Arc<RootCertStore>> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    // Unusable certificates are skipped, as browsers do.
    let _ = roots.add_parsable_certificates(found.certs);
    (!roots.is_empty()).then(|| Arc::new(roots))
}

/// [`ServerTrust::Pin`]: the fingerprint, and the last refusal.
#[derive(Clone, Debug)]
pub struct Pinned {
    pub fingerprint: Fingerprint,
    pub(super) refusals: Refusals,
}

impl Pinned {
    /// Accepts exactly the pinned certificate.
    pub(super) fn check(&self, server: &str, presented: Fingerprint) -> Result<(), TrustError> {
        if presented == self.fingerprint {
            return Ok(());
        }
        Err(TrustError::NotPinned {
            server: server.to_owned(),
            pinned: self.fingerprint,
            presented,
        })
    }
}

/// What a known-hosts trust tells its user as it goes.
#[derive(Debug)]
pub enum TrustNotice<'a> {
    /// A first contact: `fingerprint` is now pinned for `server`.
    Pinned {
        server: &'a str,
        fingerprint: Fingerprint,
        file: &'a Path,
    },
    /// A line of the file was skipped (told once per process).
    Ignored {
        file: &'a Path,
        line: usize,
        reason: &'static str,
    },
}

type Notify = Arc<dyn Fn(&TrustNotice<'_>) + Send + Sync>;

/// [`ServerTrust::KnownHosts`]: the file, the server's name in it, the
/// system roots tried first, and whom to tell about new pins.
#[derive(Clone)]
pub struct KnownHostsTrust {
    file: PathBuf,
    server: String,
    system: Option<Arc<RootCertStore>>,
    notify: Notify,
    told_ignored: Arc<AtomicBool>,
    refusals: Refusals,
}

impl std::fmt::Debug for KnownHostsTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownHostsTrust")
            .field("file", &self.file)
            .field("server", &self.server)
            .field("system_roots", &self.system.as_ref().map(|r| r.len()))
            .finish_non_exhaustive()
    }
}

impl KnownHostsTrust {
    /// Pins of `file` for `server` (`HOST:PORT` as the URL names it);
    /// certificates valid under `system` roots need none.
    pub fn new(
        file: PathBuf,
        server: &str,
        system: Option<Arc<RootCertStore>>,
        notify: impl Fn(&TrustNotice<'_>) + Send + Sync + 'static,
    ) -> Self {
        Self {
            file,
            server: known_hosts::server_key(server),
            system,
            notify: Arc::new(notify),
            told_ignored: Arc::new(AtomicBool::new(false)),
            refusals: Refusals::default(),
        }
    }

    pub(super) fn system_roots(&self) -> Option<&Arc<RootCertStore>> {
        self.system.as_ref()
    }

    pub(super) fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// The file's verdict on `presented`; a first contact is recorded.
    /// Blocking I/O inside the handshake, deliberately: one read of a small
    /// file and at most one append per connection, and the verdict must be
    /// known before the handshake goes on.
    pub(super) fn check(&self, presented: Fingerprint) -> Result<(), TrustError> {
        let text = known_hosts::read(&self.file).map_err(|source| TrustError::Read {
            file: self.file.clone(),
            source,
        })?;
        let known = known_hosts::parse(&text);
        self.tell_ignored(&known.malformed);
        match known_hosts::decide(&known, &self.server, presented) {
            Verdict::Known => Ok(()),
            Verdict::FirstContact => self.record(&text, presented),
            Verdict::Changed { pinned, line } => Err(TrustError::Changed {
                server: self.server.clone(),
                file: self.file.clone(),
                line,
                pinned,
                presented,
            }),
            Verdict::Unreadable { line, reason } => Err(TrustError::BadLine {
                server: self.server.clone(),
                file: self.file.clone(),
                line,
                reason,
            }),
        }
    }

    /// Pins `presented`; a pin that cannot be written refuses the
    /// connection, since it would not be checked next time.
    fn record(&self, existing: &str, presented: Fingerprint) -> Result<(), TrustError> {
        known_hosts::append(&self.file, existing, &self.server, presented).map_err(|source| {
            TrustError::Record {
                server: self.server.clone(),
                file: self.file.clone(),
                source,
            }
        })?;
        (self.notify)(&TrustNotice::Pinned {
            server: &self.server,
            fingerprint: presented,
            file: &self.file,
        });
        Ok(())
    }

    fn tell_ignored(&self, malformed: &[known_hosts::Malformed]) {
        if malformed.is_empty() || self.told_ignored.swap(true, Ordering::Relaxed) {
            return;
        }
        for bad in malformed {
            (self.notify)(&TrustNotice::Ignored {
                file: &self.file,
                line: bad.line,
                reason: bad.reason,
            });
        }
    }
}

/// The last refusal of a verifier, shared with the [`ServerTrust`] it was
/// made from.
#[derive(Clone, Debug, Default)]
pub(super) struct Refusals(Arc<Mutex<Option<TrustError>>>);

impl Refusals {
    pub(super) fn set(&self, err: TrustError) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(err);
        }
    }

    fn take(&self) -> Option<TrustError> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Why a server's certificate was not believed.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(
        "the certificate of {server} changed: {} line {line} pins {pinned}, the server \
         presented {presented}. Someone may be intercepting the connection. If the server's \
         certificate was replaced on purpose (a new data directory, a new certificate file), \
         check the new fingerprint with its operator, then remove line {line} from {} to pin \
         the new one (or pass --pin {presented}, or --ca FILE for a CA-issued certificate)",
        file.display(),
        file.display()
    )]
    Changed {
        server: String,
        file: PathBuf,
        line: usize,
        pinned: Fingerprint,
        presented: Fingerprint,
    },
    #[error("the certificate of {server} is {presented}, not the pinned {pinned}")]
    NotPinned {
        server: String,
        pinned: Fingerprint,
        presented: Fingerprint,
    },
    #[error(
        "{} line {line}: {reason}; fix or remove that line to connect to {server}",
        file.display()
    )]
    BadLine {
        server: String,
        file: PathBuf,
        line: usize,
        reason: &'static str,
    },
    #[error("cannot read the known-hosts file {}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot pin the certificate of {server} in {}: {source}",
        file.display()
    )]
    Record {
        server: String,
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("no usable certificate in the operating system's root store")]
    NoSystemRoots,
}
