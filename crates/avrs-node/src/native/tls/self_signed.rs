//! The self-signed certificate of native QUIC for a node without
//! `tls_certificate_file`. Players pin its fingerprint at first contact,
//! so a node that has somewhere to keep it (`DATA_DIR/native-tls/`) makes
//! it once and presents the same one after every restart.

use anyhow::Context as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::Write as _;
use std::path::Path;

/// Names in the self-signed certificate.
const CERT_NAMES: [&str; 2] = ["avrs", "localhost"];
/// DER files in the directory. The certificate is written last: when it
/// is there, so is its key.
const CERT_FILE: &str = "cert.der";
const KEY_FILE: &str = "key.der";

/// A certificate and its PKCS#8 key.
pub(super) type Certified = (CertificateDer<'static>, PrivateKeyDer<'static>);

/// The certificate kept in `dir` (made there first if missing), or with no
/// `dir` a new one.
pub(super) fn load_or_make(dir: Option<&Path>) -> anyhow::Result<Certified> {
    let Some(dir) = dir else {
        return make();
    };
    if dir.join(CERT_FILE).exists() {
        return load(dir);
    }
    let (cert, key) = make()?;
    save(dir, &cert, &key)
        .with_context(|| format!("cannot keep the QUIC certificate in {}", dir.display()))?;
    Ok((cert, key))
}

fn make() -> anyhow::Result<Certified> {
    let names: Vec<String> = CERT_NAMES.iter().map(|n| n.to_string()).collect();
    let certified =
        rcgen::generate_simple_self_signed(names).context("generate the QUIC certificate")?;
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    Ok((certified.cert.der().clone(), PrivateKeyDer::Pkcs8(key)))
}

fn load(dir: &Path) -> anyhow::Result<Certified> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).with_context(|| {
            format!(
                "cannot read the QUIC certificate's {} (delete {} to make a new certificate; \
                 players that pinned the old one will refuse the new one until they re-pin)",
                path.display(),
                dir.display()
            )
        })
    };
    let cert = CertificateDer::from(read(CERT_FILE)?);
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(read(KEY_FILE)?));
    Ok((cert, key))
}

fn save(dir: &Path, cert: &CertificateDer<'_>, key: &PrivateKeyDer<'_>) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    write_private(&dir.join(KEY_FILE), key.secret_der())?;
    write_private(&dir.join(CERT_FILE), cert)
}

/// Writes `bytes` to a temporary file (mode 0600) renamed over `path`, so a
/// crash never leaves half a file under the final name.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let partial = path.with_extension("partial");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_kept_certificate_is_the_same_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("native-tls");
        let (first, _) = load_or_make(Some(&kept)).unwrap();
        let (again, _) = load_or_make(Some(&kept)).unwrap();
        assert_eq!(first, again);
        let (fresh, _) = load_or_make(None).unwrap();
        assert_ne!(first, fresh);
        for name in [CERT_FILE, KEY_FILE] {
            let mode = std::fs::metadata(kept.join(name)).unwrap().permissions();
            assert_eq!(mode.mode() & 0o777, 0o600, "{name}");
        }
        // A key lost with its certificate left: the start fails, naming it.
        std::fs::remove_file(kept.join(KEY_FILE)).unwrap();
        let err = load_or_make(Some(&kept)).unwrap_err();
        assert!(format!("{err:#}").contains("key.der"), "{err:#}");
    }
}
