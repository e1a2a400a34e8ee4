//! Resumable uploads staged under `DATA_DIR/vod/uploads/ID.part`: bytes are
//! appended at a stated offset (a wrong one is refused), so a client that
//! lost its connection asks for the offset and goes on from there. The
//! staged file is removed once imported or refused.

use crate::error::{Result, VodError};
use crate::id::{check_token, random_token};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tokio::io::AsyncWriteExt;

/// The staged uploads of a library.
#[derive(Debug)]
pub struct Uploads {
    dir: PathBuf,
    max: u64,
    /// Uploads with a request appending or importing now.
    busy: Mutex<HashSet<String>>,
}

/// Marks an upload busy until dropped.
pub(crate) struct Claim<'a> {
    uploads: &'a Uploads,
    id: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.uploads.busy.lock() {
            busy.remove(&self.id);
        }
    }
}

impl Uploads {
    /// Creates the directory and removes uploads idle for `expiry`.
    pub fn open(dir: &Path, max: u64, expiry: Duration) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| VodError::io(format!("cannot create {}", dir.display()), e))?;
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let idle = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > expiry);
                if idle {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            max,
            busy: Mutex::new(HashSet::new()),
        })
    }

    /// The largest upload accepted.
    pub fn max_size(&self) -> u64 {
        self.max
    }

    /// A new, empty upload; returns its id.
    pub fn create(&self) -> Result<String> {
        let id = random_token();
        let path = self.dir.join(format!("{id}.part"));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| VodError::io(format!("cannot create {}", path.display()), e))?;
        Ok(id)
    }

    /// Bytes received so far.
    pub fn offset(&self, id: &str) -> Result<u64> {
        let path = self.path(id)?;
        std::fs::metadata(&path)
            .map(|m| m.len())
            .map_err(|_| VodError::NotFound(format!("upload {id}")))
    }

    /// Appends `body` at `offset` (which must be the bytes received so far)
    /// and returns the new offset. What arrived before an interruption is
    /// kept (and synced), so the client resumes after it.
    pub async fn append<S, E>(&self, id: &str, offset: u64, mut body: S) -> Result<u64>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let _claim = self.claim(id)?;
        let have = self.offset(id)?;
        if offset != have {
            return Err(VodError::OffsetMismatch {
                id: id.to_owned(),
                given: offset,
                have,
            });
        }
        let path = self.path(id)?;
        let mut file = tokio::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .await
            .map_err(|e| VodError::io(format!("cannot open {}", path.display()), e))?;
        let mut written = have;
        let mut outcome = Ok(());
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    outcome = Err(VodError::Unusable(format!("upload interrupted: {e}")));
                    break;
                }
            };
            if written + chunk.len() as u64 > self.max {
                outcome = Err(VodError::TooLarge {
                    what: format!("upload {id}"),
                    size: written + chunk.len() as u64,
                    max: self.max,
                });
                break;
            }
            if let Err(e) = file.write_all(&chunk).await {
                outcome = Err(VodError::io(format!("cannot write {}", path.display()), e));
                break;
            }
            written += chunk.len() as u64;
        }
        let synced = file
            .sync_data()
            .await
            .map_err(|e| VodError::io(format!("cannot sync {}", path.display()), e));
        outcome.and(synced).map(|()| written)
    }

    /// The staged bytes, for import; the upload stays busy meanwhile.
    pub(crate) fn staged(&self, id: &str) -> Result<(PathBuf, Claim<'_>)> {
        let claim = self.claim(id)?;
        let path = self.path(id)?;
        let size = self.offset(id)?;
        if size > self.max {
            return Err(VodError::TooLarge {
                what: format!("upload {id}"),
                size,
                max: self.max,
            });
        }
        Ok((path, claim))
    }

    /// Forgets an upload and its bytes.
    pub fn remove(&self, id: &str) -> Result<()> {
        let path = self.path(id)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(VodError::NotFound(format!("upload {id}")))
            }
            Err(e) => Err(VodError::io(format!("cannot remove {}", path.display()), e)),
        }
    }

    fn path(&self, id: &str) -> Result<PathBuf> {
        check_token("upload id", id)?;
        Ok(self.dir.join(format!("{id}.part")))
    }

    fn claim(&self, id: &str) -> Result<Claim<'_>> {
        check_token("upload id", id)?;
        let mut busy = self
            .busy
            .lock()
            .map_err(|_| VodError::Busy(id.to_owned()))?;
        if !busy.insert(id.to_owned()) {
            return Err(VodError::Busy(id.to_owned()));
        }
        Ok(Claim {
            uploads: self,
            id: id.to_owned(),
        })
    }
}
