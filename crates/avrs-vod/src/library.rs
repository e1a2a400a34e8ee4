//! [`Library`]: the contents (redb rows) and their media (object store).
//!
//! Invariant: a content is listed iff its row exists, and its row is
//! written only after every one of its objects is durably stored. Anything
//! in the store without a row is an orphan of a crash and is removed by
//! [`Library::open`]; a recording's journal is turned into a content there.

use crate::config::VodConfig;
use crate::db::{Db, RecordingHeader};
use crate::error::{Result, VodError};
use crate::id::VodId;
use crate::model::{self, Origin, Rendition, SegmentInfo, VodItem};
use crate::segment_cache::{DEFAULT_CACHE_BYTES, SegmentCache};
use crate::store::Store;
use crate::upload::Uploads;
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The VoD library of one data directory.
#[derive(Debug)]
pub struct Library {
    /// Shared with blocking threads: commits fsync ([`Library::in_db`]).
    pub(crate) db: Arc<Db>,
    pub(crate) store: Store,
    pub(crate) config: VodConfig,
    pub(crate) net_id: u64,
    uploads: Uploads,
    dir: PathBuf,
    pub(crate) segment_cache: SegmentCache,
}

/// What [`Library::open`] repaired.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Recordings cut short by a crash, now contents.
    pub recovered: Vec<VodId>,
    /// Ids whose objects had no row (an import or delete interrupted).
    pub orphans_removed: Vec<VodId>,
}

impl Library {
    /// Opens (or creates) `DATA_DIR/vod/library.redb` and the store, turns
    /// interrupted recordings into contents and removes orphan objects.
    /// Fails with [`VodError::Locked`] if another process has it open.
    pub async fn open(
        data_dir: &Path,
        config: VodConfig,
        net_id: u64,
    ) -> Result<(Arc<Self>, Recovery)> {
        let store = Store::open(&config, data_dir)?;
        Self::open_on(data_dir, config, net_id, store).await
    }

    /// [`Library::open`] with the objects in `objects` instead of the
    /// configured store (`label` names it in messages): for embedders with
    /// their own `object_store`, and for tests of store failures.
    pub async fn open_with_store(
        data_dir: &Path,
        config: VodConfig,
        net_id: u64,
        objects: Arc<dyn object_store::ObjectStore>,
        label: &str,
    ) -> Result<(Arc<Self>, Recovery)> {
        Self::open_on(data_dir, config, net_id, Store::custom(objects, label)).await
    }

    async fn open_on(
        data_dir: &Path,
        config: VodConfig,
        net_id: u64,
        store: Store,
    ) -> Result<(Arc<Self>, Recovery)> {
        let dir = data_dir.join("vod");
        std::fs::create_dir_all(&dir)
            .map_err(|e| VodError::io(format!("cannot create {}", dir.display()), e))?;
        let db = Db::open(&dir.join("library.redb"))?;
        let uploads = Uploads::open(
            &dir.join("uploads"),
            config.max_upload_size,
            config.upload_expiry,
        )?;
        let library = Arc::new(Self {
            db: Arc::new(db),
            store,
            config,
            net_id,
            uploads,
            dir,
            segment_cache: SegmentCache::new(DEFAULT_CACHE_BYTES),
        });
        let recovery = library.recover().await?;
        Ok((library, recovery))
    }

    /// Runs `work` on the database from a blocking thread: a redb commit
    /// fsyncs, which must not stall the async runtime.
    pub(crate) async fn in_db<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Db) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(|e| VodError::db("blocking call", e))?
    }

    pub fn config(&self) -> &VodConfig {
        &self.config
    }

    /// `DATA_DIR/vod`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn store_label(&self) -> &str {
        self.store.label()
    }

    pub fn uploads(&self) -> &Uploads {
        &self.uploads
    }

    /// Every content, newest first.
    pub fn list(&self) -> Result<Vec<VodItem>> {
        let mut items = self.db.items()?;
        items.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(a.id.cmp(&b.id)));
        Ok(items)
    }

    pub fn get(&self, id: VodId) -> Result<VodItem> {
        self.db
            .item(id)?
            .ok_or_else(|| VodError::NotFound(format!("VoD content {id}")))
    }

    /// Recordings running now (their ids serve a DVR playlist).
    pub fn recordings(&self) -> Result<Vec<RecordingHeader>> {
        self.db.recordings()
    }

    /// Removes a content: the row first (it disappears at once and
    /// atomically), then its objects (a crash in between leaves orphans
    /// that the next open removes).
    pub async fn delete(&self, id: VodId) -> Result<()> {
        if !self.in_db(move |db| db.remove_item(id)).await? {
            return Err(VodError::NotFound(format!("VoD content {id}")));
        }
        self.segment_cache.forget(id);
        self.store.delete_all(id).await
    }

    /// An object of a listed content or a running recording, by its
    /// playlist name (`init{n}.mp4`, `seg{n}.m4s`); other names are
    /// refused before the store is asked.
    pub async fn read_object(&self, id: VodId, name: &str) -> Result<Bytes> {
        let canonical = canonical_object(name)
            .ok_or_else(|| VodError::NotFound(format!("object {name:?} of {id}")))?;
        if self.db.item(id)?.is_none() && self.db.recording(id)?.is_none() {
            return Err(VodError::NotFound(format!("VoD content {id}")));
        }
        self.store.get(id, &canonical).await
    }

    /// Segments from `start` (90 kHz ticks into the content) to the end:
    /// for sessions that play a content from a position. The first is the
    /// one containing `start`; read each with [`Library::read_object`]
    /// after `init{segment.init}.mp4`.
    pub fn segments_from(&self, id: VodId, start: u64) -> Result<Vec<SegmentInfo>> {
        let item = self.get(id)?;
        let segments = item
            .renditions
            .first()
            .map(|r| r.segments.as_slice())
            .unwrap_or(&[]);
        let first = segments.partition_point(|s| s.start + s.duration <= start);
        Ok(segments[first..].to_vec())
    }

    async fn recover(&self) -> Result<Recovery> {
        let mut recovery = Recovery::default();
        for header in self.db.recordings()? {
            let segments = self.db.recording_segments(header.id)?;
            let item = recording_item(&header, segments, true);
            self.db.finish_recording(header.id, item.as_ref())?;
            if item.is_some() {
                tracing::warn!(id = %header.id, stream = %header.stream,
                    "recording interrupted by a crash: kept up to its last complete segment");
                recovery.recovered.push(header.id);
            }
        }
        let listed: std::collections::BTreeSet<VodId> =
            self.db.items()?.iter().map(|i| i.id).collect();
        for id in self.store.ids().await? {
            if !listed.contains(&id) {
                self.store.delete_all(id).await?;
                recovery.orphans_removed.push(id);
            }
        }
        if !recovery.orphans_removed.is_empty() {
            tracing::info!(
                count = recovery.orphans_removed.len(),
                "removed objects of interrupted imports or deletes"
            );
        }
        Ok(recovery)
    }
}

/// The content a recording's journal describes; `None` without segments.
pub(crate) fn recording_item(
    header: &RecordingHeader,
    segments: Vec<SegmentInfo>,
    partial: bool,
) -> Option<VodItem> {
    if segments.is_empty() {
        return None;
    }
    let (peak, average) = model::bandwidths(&segments);
    let inits = segments.iter().map(|s| s.init).max().unwrap_or(0);
    let bytes = segments.iter().map(|s| s.bytes).sum::<u64>() + u64::from(inits + 1) * 1024;
    Some(VodItem {
        id: header.id,
        title: header.title.clone(),
        name: header.stream.clone(),
        owner: None,
        tags: Vec::new(),
        created_ms: header.created_ms,
        duration: segments.iter().map(|s| s.duration).sum(),
        origin: Origin::Recording {
            stream: header.stream.clone(),
        },
        partial,
        bytes,
        renditions: vec![Rendition {
            video: header.video.clone(),
            audio: header.audio.clone(),
            peak_bandwidth: peak,
            average_bandwidth: average,
            segments,
        }],
    })
}

/// `init{n}.mp4` or `seg{n}.m4s` with a canonical decimal `n`, rebuilt
/// from the number so nothing else of the request reaches a path.
fn canonical_object(name: &str) -> Option<String> {
    let number = |digits: &str| -> Option<u32> {
        let canonical = !digits.is_empty()
            && digits.len() <= 10
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        canonical.then(|| digits.parse().ok()).flatten()
    };
    if let Some(n) = name
        .strip_prefix("init")
        .and_then(|r| r.strip_suffix(".mp4"))
    {
        return number(n).map(model::init_object);
    }
    let n = name
        .strip_prefix("seg")
        .and_then(|r| r.strip_suffix(".m4s"))?;
    number(n).map(model::segment_object)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_canonical_object_names_are_read() {
        use super::canonical_object as c;
        assert_eq!(c("seg12.m4s").as_deref(), Some("seg12.m4s"));
        assert_eq!(c("init0.mp4").as_deref(), Some("init0.mp4"));
        for bad in [
            "seg012.m4s",
            "seg.m4s",
            "../seg1.m4s",
            "seg1.m4s/..",
            "meta.json",
            "seg-1.m4s",
            "seg99999999999.m4s",
        ] {
            assert_eq!(c(bad), None, "{bad}");
        }
    }
}
