//! Reading secret and list files with caps and permission checks, and
//! writing them atomically with mode 0600.

use crate::error::AuthError;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use zeroize::Zeroizing;

/// Reads at most `cap` bytes of a file that only its owner may access.
pub(crate) fn read_secret(path: &Path, cap: usize) -> Result<Zeroizing<Vec<u8>>, AuthError> {
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| AuthError::Config(format!("cannot read {shown}: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| AuthError::Config(format!("cannot read {shown}: {e}")))?;
    if !meta.is_file() {
        return Err(AuthError::Config(format!("{shown} is not a regular file")));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(AuthError::Config(format!(
            "secret file {shown} has mode {mode:04o}: group/other users may read it; run `chmod 600 {shown}`"
        )));
    }
    read_capped(file, cap, path).map(Zeroizing::new)
}

/// Reads at most `cap` bytes of a public file (revocation list, certificate).
pub(crate) fn read_public(path: &Path, cap: usize) -> Result<Vec<u8>, AuthError> {
    let file = std::fs::File::open(path)
        .map_err(|e| AuthError::Config(format!("cannot read {}: {e}", path.display())))?;
    read_capped(file, cap, path)
}

fn read_capped(file: std::fs::File, cap: usize, path: &Path) -> Result<Vec<u8>, AuthError> {
    let mut bytes = Vec::new();
    file.take(cap as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| AuthError::Config(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() > cap {
        return Err(AuthError::Config(format!(
            "{} is larger than {cap} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// (mode 0600, synced) and a rename, so readers see the old or the new
/// file, never a part. `replace = false` refuses an existing file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], replace: bool) -> Result<(), AuthError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let fail =
        |e: std::io::Error| AuthError::Config(format!("cannot write {}: {e}", path.display()));
    if !replace && path.exists() {
        return Err(AuthError::Config(format!(
            "{} exists; remove it first (or use --force)",
            path.display()
        )));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy());
    let tmp_name = format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let tmp = dir.map_or_else(|| tmp_name.clone().into(), |d| d.join(&tmp_name));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = dir {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

/// Compares secrets in time that does not depend on where they differ.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}
