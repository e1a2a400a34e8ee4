//! The media objects: `ID/init{n}.mp4`, `ID/seg{n}.m4s`, `ID/meta.json`,
//! in a local directory (default) or an S3-compatible bucket, both through
//! `object_store`. Only the library builds paths, from a validated
//! [`VodId`] and names it made itself.

use crate::config::{StoreConfig, VodConfig};
use crate::error::{Result, VodError};
use crate::id::VodId;
use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A handle on the object store.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    /// Shown in messages: the directory or `s3://bucket`.
    label: String,
    /// The directory of a local store: a crash can leave staged files
    /// (`NAME#N`) that listings do not show.
    local_root: Option<PathBuf>,
}

impl Store {
    /// Local files are written to a temporary name, fsynced, and renamed
    /// (the directory fsynced too): an object is whole or absent.
    pub fn open(config: &VodConfig, data_dir: &Path) -> Result<Self> {
        match &config.store {
            StoreConfig::Local { root } => {
                let root = root
                    .clone()
                    .unwrap_or_else(|| data_dir.join("vod").join("objects"));
                std::fs::create_dir_all(&root)
                    .map_err(|e| VodError::io(format!("cannot create {}", root.display()), e))?;
                let local = LocalFileSystem::new_with_prefix(&root)
                    .map_err(|e| VodError::store(format!("open {}", root.display()), e))?
                    .with_fsync(true)
                    .with_automatic_cleanup(true);
                Ok(Self {
                    inner: Arc::new(local),
                    label: root.display().to_string(),
                    local_root: Some(root),
                })
            }
            StoreConfig::S3(s3) => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_allow_http(s3.allow_http);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let (Some(key), Some(secret)) = (&s3.access_key, &s3.secret_key) {
                    builder = builder
                        .with_access_key_id(key)
                        .with_secret_access_key(secret);
                }
                let label = format!("s3://{}", s3.bucket);
                let store = builder
                    .build()
                    .map_err(|e| VodError::store(format!("configure {label}"), e))?;
                Ok(Self {
                    inner: Arc::new(store),
                    label,
                    local_root: None,
                })
            }
        }
    }

    /// Any `object_store` implementation (an embedder's own store, or a
    /// test store that fails on demand); `label` names it in messages.
    pub fn custom(inner: Arc<dyn ObjectStore>, label: &str) -> Self {
        Self {
            inner,
            label: label.to_owned(),
            local_root: None,
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// Writes one object whole (S3 puts are atomic; local puts are staged
    /// and renamed).
    pub async fn put(&self, id: VodId, name: &str, bytes: Bytes) -> Result<()> {
        let path = object_path(id, name);
        self.inner
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .map(drop)
            .map_err(|e| VodError::store(format!("write {path} in {}", self.label), e))
    }

    pub async fn get(&self, id: VodId, name: &str) -> Result<Bytes> {
        let path = object_path(id, name);
        let result = self
            .inner
            .get(&path)
            .await
            .map_err(|e| VodError::store(format!("read {path} in {}", self.label), e))?;
        result
            .bytes()
            .await
            .map_err(|e| VodError::store(format!("read {path} in {}", self.label), e))
    }

    /// Removes every object of `id` (missing ones are fine).
    pub async fn delete_all(&self, id: VodId) -> Result<()> {
        let prefix = ObjectPath::from(id.to_string());
        let paths: Vec<ObjectPath> = self
            .inner
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| VodError::store(format!("list {prefix} in {}", self.label), e))?;
        for path in paths {
            match self.inner.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(VodError::store(format!("delete {path}"), e)),
            }
        }
        if let Some(root) = &self.local_root {
            // Staged leftovers of a crash; the name is validated hex.
            match std::fs::remove_dir_all(root.join(id.to_string())) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(VodError::io(
                        format!("cannot remove {}/{id}", root.display()),
                        e,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every content id that has objects (names that are not ids are
    /// not ours and left alone).
    pub async fn ids(&self) -> Result<BTreeSet<VodId>> {
        let mut ids = BTreeSet::new();
        if let Some(root) = &self.local_root
            && let Ok(entries) = std::fs::read_dir(root)
        {
            let names = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned());
            ids.extend(names.filter_map(|name| VodId::parse(&name).ok()));
        }
        let mut listing = self.inner.list(None);
        while let Some(meta) = listing
            .try_next()
            .await
            .map_err(|e| VodError::store(format!("list {}", self.label), e))?
        {
            if let Some(first) = meta.location.parts().next()
                && let Ok(id) = VodId::parse(first.as_ref())
            {
                ids.insert(id);
            }
        }
        Ok(ids)
    }
}

fn object_path(id: VodId, name: &str) -> ObjectPath {
    ObjectPath::from(format!("{id}/{name}"))
}
