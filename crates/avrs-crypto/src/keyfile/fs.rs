//! Loading and saving key files with the file-system rules: a key file is
//! created with mode 0600 in one atomic step, never silently replaces
//! another, and is refused when group or other users may access it.

use super::{MAX_FILE_SIZE, decode, encode};
use crate::error::{CryptoError, KeyFileProblem, Result};
use crate::keys::{PublicKey, SigningKey};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use zeroize::Zeroizing;

/// Permission bits of group and other users.
const GROUP_OTHER_BITS: u32 = 0o077;
const PRIVATE_MODE: u32 = 0o600;

/// Loads a private key file. It must be a regular file of at most
/// [`MAX_FILE_SIZE`] bytes that only its owner may access.
pub fn load(path: &Path) -> Result<SigningKey> {
    let in_file = |problem| CryptoError::key_file(path, problem);
    let file = File::open(path).map_err(|e| in_file(e.into()))?;
    // Checked on the opened file, so a swap after the check changes nothing.
    let meta = file.metadata().map_err(|e| in_file(e.into()))?;
    if !meta.is_file() {
        return Err(in_file(KeyFileProblem::NotRegularFile));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & GROUP_OTHER_BITS != 0 {
        return Err(CryptoError::KeyFileMode {
            path: path.to_owned(),
            mode,
        });
    }
    let text = read_capped(file, meta.len()).map_err(in_file)?;
    decode(&text).map_err(in_file)
}

/// The public key of a private key file (same checks as [`load`]).
pub fn load_public_key(path: &Path) -> Result<PublicKey> {
    Ok(load(path)?.public_key().clone())
}

fn read_capped(file: File, declared: u64) -> Result<Zeroizing<Vec<u8>>, KeyFileProblem> {
    let too_large = |size| KeyFileProblem::TooLarge {
        size,
        max: MAX_FILE_SIZE,
    };
    if declared > MAX_FILE_SIZE as u64 {
        return Err(too_large(declared));
    }
    // Sized up front (declared <= cap) so the secret is not left behind by a
    // reallocation; one byte of room shows a file that grew past the cap.
    let mut text = Zeroizing::new(Vec::with_capacity(MAX_FILE_SIZE + 1));
    file.take(MAX_FILE_SIZE as u64 + 1).read_to_end(&mut text)?;
    if text.len() > MAX_FILE_SIZE {
        return Err(too_large(text.len() as u64));
    }
    Ok(text)
}

/// Writes `key` to `path` with mode 0600: a temporary file in the same
/// directory is written, synced, then moved into place. An existing `path`
/// is an error unless `overwrite`.
pub fn save(path: &Path, key: &SigningKey, overwrite: bool) -> Result<()> {
    let in_file = |problem| CryptoError::key_file(path, problem);
    if !overwrite && path.symlink_metadata().is_ok() {
        return Err(in_file(KeyFileProblem::AlreadyExists));
    }
    let dir = parent_dir(path);
    let tmp = temp_path(path, &dir).map_err(|e| in_file(e.into()))?;
    let text = encode(key);
    let placed = write_private(&tmp, text.as_bytes()).and_then(|()| place(&tmp, path, overwrite));
    // The temporary name is gone after a rename; after a link it remains.
    let _ = fs::remove_file(&tmp);
    placed.map_err(in_file)?;
    sync_dir(&dir).map_err(|e| in_file(e.into()))
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// A name next to `path` no other writer uses (pid and a counter).
fn temp_path(path: &Path, dir: &Path) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = format!(
        ".{}.tmp-{}-{unique}",
        name.to_string_lossy(),
        std::process::id()
    );
    Ok(dir.join(tmp))
}

/// Creates a new file readable by its owner only and syncs its contents.
fn write_private(path: &Path, contents: &[u8]) -> Result<(), KeyFileProblem> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_MODE)
        .open(path)?;
    // The umask can only clear bits; set exactly 0600 so the owner can read.
    file.set_permissions(fs::Permissions::from_mode(PRIVATE_MODE))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

/// Moves the finished file into place. Without `overwrite`, a hard link
/// makes "create if absent" atomic; file systems without hard links fall
/// back to a check then a rename.
fn place(tmp: &Path, path: &Path, overwrite: bool) -> Result<(), KeyFileProblem> {
    if overwrite {
        return Ok(fs::rename(tmp, path)?);
    }
    match fs::hard_link(tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(KeyFileProblem::AlreadyExists),
        Err(_) if path.symlink_metadata().is_ok() => Err(KeyFileProblem::AlreadyExists),
        Err(_) => Ok(fs::rename(tmp, path)?),
    }
}

/// Makes the new directory entry durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::Algorithm;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn save_creates_mode_0600_and_load_gives_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        save(&path, &key, false).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(load(&path).unwrap().public_key(), key.public_key());
        assert_eq!(&load_public_key(&path).unwrap(), key.public_key());
        // Only the key file is left: the temporary name is gone.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn save_refuses_to_overwrite_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let first = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let second = SigningKey::generate(Algorithm::Ed25519).unwrap();
        save(&path, &first, false).unwrap();
        let err = save(&path, &second, false).unwrap_err();
        assert!(
            matches!(
                err,
                CryptoError::KeyFile {
                    problem: KeyFileProblem::AlreadyExists,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("node.key"), "{err}");
        assert_eq!(load(&path).unwrap().public_key(), first.public_key());
        save(&path, &second, true).unwrap();
        assert_eq!(load(&path).unwrap().public_key(), second.public_key());
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_atomic_step_refuses_an_existing_target() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        let path = dir.path().join("key");
        fs::write(&tmp, b"new").unwrap();
        fs::write(&path, b"old").unwrap();
        assert!(matches!(
            place(&tmp, &path, false),
            Err(KeyFileProblem::AlreadyExists)
        ));
        assert_eq!(fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn load_refuses_group_or_other_access_naming_path_mode_and_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        save(
            &path,
            &SigningKey::generate(Algorithm::Ed25519).unwrap(),
            false,
        )
        .unwrap();
        for mode in [0o644, 0o640, 0o604, 0o610] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let err = load(&path).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, CryptoError::KeyFileMode { mode: m, .. } if m == mode));
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(&format!("{mode:04o}")), "{text}");
            assert!(text.contains("chmod 600"), "{text}");
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(load(&path).is_ok(), "owner-only read is fine");
    }

    #[test]
    fn load_names_the_file_for_missing_directories_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.key");
        let err = load(&missing).unwrap_err();
        assert!(matches!(
            err,
            CryptoError::KeyFile {
                problem: KeyFileProblem::Io(_),
                ..
            }
        ));
        assert!(err.to_string().contains("absent.key"), "{err}");

        let err = load(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                CryptoError::KeyFile {
                    problem: KeyFileProblem::NotRegularFile | KeyFileProblem::Io(_),
                    ..
                }
            ),
            "{err}"
        );

        let big = dir.path().join("big.key");
        fs::write(&big, vec![b'A'; MAX_FILE_SIZE + 1]).unwrap();
        fs::set_permissions(&big, fs::Permissions::from_mode(0o600)).unwrap();
        let err = load(&big).unwrap_err();
        assert!(
            matches!(
                err,
                CryptoError::KeyFile {
                    problem: KeyFileProblem::TooLarge { .. },
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn damaged_files_are_refused_with_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        save(
            &path,
            &SigningKey::generate(Algorithm::MlDsa65).unwrap(),
            false,
        )
        .unwrap();
        let mut text = fs::read(&path).unwrap();
        // Flip one base64 character in the middle of the body.
        let at = text.len() / 2;
        text[at] = if text[at] == b'A' { b'B' } else { b'A' };
        fs::write(&path, &text).unwrap();
        let err = load(&path).unwrap_err();
        assert!(
            matches!(
                err,
                CryptoError::KeyFile {
                    problem: KeyFileProblem::Checksum | KeyFileProblem::Base64(_),
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("node.key"), "{err}");
    }

    #[test]
    fn save_without_a_file_name_is_an_error() {
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = save(&dir.path().join(".."), &key, true).unwrap_err();
        assert!(matches!(err, CryptoError::KeyFile { .. }), "{err}");
    }
}
