//! The node's stream key: what publishers on other hosts add to the stream
//! name (`rtmp://HOST/live/NAME?key=KEY`). Made once, kept in the data
//! directory as `publish.key` (mode 0600), printed at start.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// File name inside the data directory.
pub const FILE_NAME: &str = "publish.key";

/// Hex digits of a key (128 random bits).
const KEY_LEN: usize = 32;

/// Reads the key from `data_dir`, making it first if there is none.
pub fn load_or_create(data_dir: &Path) -> Result<String> {
    let path = data_dir.join(FILE_NAME);
    match std::fs::read(&path) {
        Ok(bytes) => parse(&path, &bytes),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => create(&path),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<String> {
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by others (mode {mode:03o}); run: chmod 600 {}",
            path.display(),
            path.display()
        );
    }
    let text = std::str::from_utf8(bytes).unwrap_or_default().trim();
    if text.len() != KEY_LEN || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "{} does not hold a stream key ({KEY_LEN} hex digits); delete it to make a new one",
            path.display()
        );
    }
    Ok(text.to_owned())
}

fn create(path: &Path) -> Result<String> {
    let bytes: [u8; KEY_LEN / 2] =
        avrs_crypto::random_bytes().context("cannot make a stream key")?;
    let key = hex::encode(bytes);
    // create_new: two nodes starting on one directory never overwrite each
    // other's key; mode 0600 from the first byte.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(file, "{key}")?;
    file.sync_all()?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        assert_eq!(first.len(), KEY_LEN);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
        let mode = std::fs::metadata(dir.path().join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            load_or_create(other.path()).unwrap(),
            first,
            "random per node"
        );
    }

    #[test]
    fn a_damaged_or_open_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "not a key\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = load_or_create(dir.path()).unwrap_err().to_string();
        assert!(err.contains("does not hold a stream key"), "{err}");
        std::fs::write(&path, "0123456789abcdef0123456789abcdef\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create(dir.path()).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
