//! The embedded database (`DATA_DIR/vod/library.redb`): one table of
//! contents, and the journal of running recordings. Every change is one
//! redb transaction, durable when `commit` returns.

use crate::error::{Result, VodError};
use crate::id::VodId;
use crate::model::{AudioInfo, SegmentInfo, VideoInfo, VodItem};
use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Content id → JSON [`VodItem`]. A content exists once its row does.
const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");
/// Recording id → JSON [`RecordingHeader`], while it runs.
const RECORDINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("recordings");
/// `ID/SEQ` (SEQ 10 digits) → JSON [`SegmentInfo`]: one row per segment
/// already stored, so a crash loses at most the segment being written.
const REC_SEGMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("recording_segments");

/// What a running recording is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingHeader {
    pub id: VodId,
    pub stream: String,
    pub title: String,
    pub created_ms: u64,
    pub video: Option<VideoInfo>,
    pub audio: Option<AudioInfo>,
    /// How far back the live DVR playlist reaches, milliseconds.
    pub dvr_window_ms: u64,
}

#[derive(Debug)]
pub struct Db {
    db: Database,
}

impl Db {
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path).map_err(|e| match e {
            DatabaseError::DatabaseAlreadyOpen => VodError::Locked {
                path: path.display().to_string(),
            },
            other => VodError::db("open", format!("{}: {other}", path.display())),
        })?;
        let txn = db.begin_write().map_err(|e| VodError::db("write", e))?;
        for table in [ITEMS, RECORDINGS, REC_SEGMENTS] {
            txn.open_table(table)
                .map_err(|e| VodError::db("open table", e))?;
        }
        txn.commit().map_err(|e| VodError::db("commit", e))?;
        Ok(Self { db })
    }

    pub fn items(&self) -> Result<Vec<VodItem>> {
        self.all(ITEMS)
    }

    pub fn item(&self, id: VodId) -> Result<Option<VodItem>> {
        self.one(ITEMS, &id.to_string())
    }

    pub fn recordings(&self) -> Result<Vec<RecordingHeader>> {
        self.all(RECORDINGS)
    }

    pub fn recording(&self, id: VodId) -> Result<Option<RecordingHeader>> {
        self.one(RECORDINGS, &id.to_string())
    }

    /// Adds a content: the last step of an import.
    pub fn insert_item(&self, item: &VodItem) -> Result<()> {
        self.write(|txn| put(txn, ITEMS, &item.id.to_string(), item))
    }

    /// Removes a content's row; true if it existed.
    pub fn remove_item(&self, id: VodId) -> Result<bool> {
        let mut existed = false;
        self.write(|txn| {
            let mut table = txn
                .open_table(ITEMS)
                .map_err(|e| VodError::db("open table", e))?;
            existed = table
                .remove(id.to_string().as_str())
                .map_err(|e| VodError::db("remove", e))?
                .is_some();
            Ok(())
        })?;
        Ok(existed)
    }

    pub fn begin_recording(&self, header: &RecordingHeader) -> Result<()> {
        self.write(|txn| put(txn, RECORDINGS, &header.id.to_string(), header))
    }

    /// Journals one stored segment of a recording.
    pub fn add_segment(&self, id: VodId, segment: &SegmentInfo) -> Result<()> {
        self.write(|txn| put(txn, REC_SEGMENTS, &segment_key(id, segment.seq), segment))
    }

    pub fn recording_segments(&self, id: VodId) -> Result<Vec<SegmentInfo>> {
        let txn = self.db.begin_read().map_err(|e| VodError::db("read", e))?;
        let table = txn
            .open_table(REC_SEGMENTS)
            .map_err(|e| VodError::db("open table", e))?;
        let (from, to) = (format!("{id}/"), format!("{id}0"));
        let range = table
            .range(from.as_str()..to.as_str())
            .map_err(|e| VodError::db("read", e))?;
        let mut segments = Vec::new();
        for row in range {
            let (key, value) = row.map_err(|e| VodError::db("read", e))?;
            segments.push(decode(key.value(), value.value())?);
        }
        Ok(segments)
    }

    /// Ends a recording in one transaction: its journal goes, and `item`
    /// (if any: a recording without segments leaves nothing) is added.
    pub fn finish_recording(&self, id: VodId, item: Option<&VodItem>) -> Result<()> {
        let key = id.to_string();
        self.write(|txn| {
            if let Some(item) = item {
                put(txn, ITEMS, &key, item)?;
            }
            let mut headers = txn
                .open_table(RECORDINGS)
                .map_err(|e| VodError::db("open table", e))?;
            headers
                .remove(key.as_str())
                .map_err(|e| VodError::db("remove", e))?;
            let mut segments = txn
                .open_table(REC_SEGMENTS)
                .map_err(|e| VodError::db("open table", e))?;
            let (from, to) = (format!("{key}/"), format!("{key}0"));
            segments
                .retain_in(from.as_str()..to.as_str(), |_, _| false)
                .map_err(|e| VodError::db("remove", e))?;
            Ok(())
        })
    }

    fn write(&self, change: impl FnOnce(&redb::WriteTransaction) -> Result<()>) -> Result<()> {
        let txn = self
            .db
            .begin_write()
            .map_err(|e| VodError::db("write", e))?;
        change(&txn)?;
        txn.commit().map_err(|e| VodError::db("commit", e))
    }

    fn one<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
    ) -> Result<Option<T>> {
        let txn = self.db.begin_read().map_err(|e| VodError::db("read", e))?;
        let table = txn
            .open_table(table)
            .map_err(|e| VodError::db("open table", e))?;
        let row = table.get(key).map_err(|e| VodError::db("read", e))?;
        row.map(|value| decode(key, value.value())).transpose()
    }

    fn all<T: DeserializeOwned>(&self, table: TableDefinition<&str, &[u8]>) -> Result<Vec<T>> {
        let txn = self.db.begin_read().map_err(|e| VodError::db("read", e))?;
        let table = txn
            .open_table(table)
            .map_err(|e| VodError::db("open table", e))?;
        let mut rows = Vec::new();
        for row in table.iter().map_err(|e| VodError::db("read", e))? {
            let (key, value) = row.map_err(|e| VodError::db("read", e))?;
            rows.push(decode(key.value(), value.value())?);
        }
        Ok(rows)
    }
}

fn put<T: Serialize>(
    txn: &redb::WriteTransaction,
    table: TableDefinition<&str, &[u8]>,
    key: &str,
    value: &T,
) -> Result<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| VodError::db("encode", e))?;
    let mut table = txn
        .open_table(table)
        .map_err(|e| VodError::db("open table", e))?;
    table
        .insert(key, bytes.as_slice())
        .map_err(|e| VodError::db("insert", e))?;
    Ok(())
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| VodError::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

fn segment_key(id: VodId, seq: u32) -> String {
    format!("{id}/{seq:010}")
}
