//! Import: a demuxed file remuxed (no re-encoding) into CMAF segments cut
//! at keyframes. Objects first, the library row last: a failure or a crash
//! before the row leaves no content (only objects the next open removes).

use crate::error::{Result, VodError};
use crate::id::VodId;
use crate::library::Library;
use crate::model::{
    self, AudioInfo, ImportMeta, Origin, Rendition, SegmentInfo, VideoInfo, VodItem,
};
use crate::segmenter::{self, Segmenter};
use avrs_media::demux::Demuxed;
use avrs_media::fmp4::CmafWriter;
use std::path::{Path, PathBuf};

/// How far an import is, in 90 kHz ticks of media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportProgress {
    pub done: u64,
    pub total: u64,
}

impl Library {
    /// Checks the size cap, demuxes and imports a whole file in memory.
    pub async fn import_bytes(
        &self,
        data: &[u8],
        meta: ImportMeta,
        progress: &mut (dyn FnMut(ImportProgress) + Send),
    ) -> Result<VodItem> {
        self.check_size("the file", data.len() as u64)?;
        let demuxed = avrs_media::demux::demux(data)?;
        self.import(demuxed, meta, progress).await
    }

    /// [`Library::import_bytes`] of a local file. Reading and demuxing
    /// run on a blocking thread, so the async runtime keeps serving.
    pub async fn import_file(
        &self,
        path: &Path,
        mut meta: ImportMeta,
        progress: &mut (dyn FnMut(ImportProgress) + Send),
    ) -> Result<VodItem> {
        if meta.file.is_none() {
            meta.file = path.file_name().map(|n| n.to_string_lossy().into_owned());
        }
        let demuxed = self.demux_file(path.to_owned()).await?;
        self.import(demuxed, meta, progress).await
    }

    /// Imports a finished upload. Its staged bytes are removed once
    /// imported or refused as bad input; kept after a server-side failure
    /// (store, disk) so the client can ask again.
    pub async fn import_upload(
        &self,
        upload: &str,
        meta: ImportMeta,
        progress: &mut (dyn FnMut(ImportProgress) + Send),
    ) -> Result<VodItem> {
        let (path, claim) = self.uploads().staged(upload)?;
        let result = match self.demux_file(path).await {
            Ok(demuxed) => self.import(demuxed, meta, progress).await,
            Err(err) => Err(err),
        };
        drop(claim);
        if result
            .as_ref()
            .map_or_else(VodError::is_bad_input, |_| true)
        {
            let _ = self.uploads().remove(upload);
        }
        result
    }

    /// Checks the size cap, then reads and demuxes `path` on a blocking
    /// thread (the demuxers work on the whole file in memory).
    async fn demux_file(&self, path: PathBuf) -> Result<Demuxed> {
        let max = self.config.max_upload_size;
        let work = move || -> Result<Demuxed> {
            let what = || format!("cannot read {}", path.display());
            let size = std::fs::metadata(&path)
                .map_err(|e| VodError::io(what(), e))?
                .len();
            too_large(&path.display().to_string(), size, max)?;
            let data = std::fs::read(&path).map_err(|e| VodError::io(what(), e))?;
            Ok(avrs_media::demux::demux(&data)?)
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| VodError::io("the import thread stopped", std::io::Error::other(e)))?
    }

    pub(crate) fn check_size(&self, what: &str, size: u64) -> Result<()> {
        too_large(what, size, self.config.max_upload_size)
    }

    /// Stores `demuxed` as a new content and lists it.
    pub async fn import(
        &self,
        demuxed: Demuxed,
        meta: ImportMeta,
        progress: &mut (dyn FnMut(ImportProgress) + Send),
    ) -> Result<VodItem> {
        if demuxed.video.is_none() && demuxed.audio.is_none() {
            return Err(VodError::Unusable(
                "no H.264 video or AAC audio track".into(),
            ));
        }
        if demuxed.frames.is_empty() {
            return Err(VodError::Unusable("the tracks hold no frames".into()));
        }
        let writer = CmafWriter::new(demuxed.video.clone(), demuxed.audio.clone())?;
        let id = VodId::new(self.net_id);
        let stored = self.store_media(id, writer, &demuxed, progress).await;
        let segments = match stored {
            Ok(segments) => segments,
            Err(err) => {
                // Best effort now; the next open removes what is left.
                let _ = self.store.delete_all(id).await;
                return Err(err);
            }
        };
        let item = imported_item(id, &demuxed, meta, segments);
        let committed = async {
            let json = serde_json::to_vec_pretty(&item).map_err(|e| VodError::db("encode", e))?;
            self.store.put(id, "meta.json", json.into()).await?;
            let row = item.clone();
            self.in_db(move |db| db.insert_item(&row)).await
        };
        if let Err(err) = committed.await {
            let _ = self.store.delete_all(id).await;
            return Err(err);
        }
        Ok(item)
    }

    async fn store_media(
        &self,
        id: VodId,
        mut writer: CmafWriter,
        demuxed: &Demuxed,
        progress: &mut (dyn FnMut(ImportProgress) + Send),
    ) -> Result<Vec<SegmentInfo>> {
        self.store
            .put(id, &model::init_object(0), writer.init_segment())
            .await?;
        let total = demuxed.duration();
        let rate = demuxed.audio.as_ref().map(|a| a.sample_rate);
        let mut segmenter =
            Segmenter::new(self.config.segment_target, demuxed.video.is_some(), rate);
        let mut segments = Vec::new();
        // Cutting is cheap and sans-IO (frames share their bytes); encoding
        // and storing go one segment at a time.
        let mut cuts: Vec<_> = demuxed
            .frames
            .iter()
            .cloned()
            .filter_map(|f| segmenter.push(f))
            .collect();
        cuts.extend(segmenter.finish());
        for cut in &cuts {
            let seq = u32::try_from(segments.len())
                .map_err(|_| VodError::Unusable("too many segments".into()))?;
            let bytes = segmenter::encode(&mut writer, seq, cut)?;
            let start = segments
                .last()
                .map_or(0, |s: &SegmentInfo| s.start + s.duration);
            segments.push(SegmentInfo {
                seq,
                start,
                duration: cut.duration,
                bytes: bytes.len() as u64,
                init: 0,
                discontinuity: false,
            });
            self.store
                .put(id, &model::segment_object(seq), bytes)
                .await?;
            progress(ImportProgress {
                done: (start + cut.duration).min(total),
                total,
            });
        }
        if segments.is_empty() {
            return Err(VodError::Unusable(
                "no frame starts a picture (no video keyframe)".into(),
            ));
        }
        Ok(segments)
    }
}

fn too_large(what: &str, size: u64, max: u64) -> Result<()> {
    if size > max {
        return Err(VodError::TooLarge {
            what: what.to_owned(),
            size,
            max,
        });
    }
    Ok(())
}

fn imported_item(
    id: VodId,
    demuxed: &Demuxed,
    meta: ImportMeta,
    segments: Vec<SegmentInfo>,
) -> VodItem {
    let (peak, average) = model::bandwidths(&segments);
    let title = meta
        .title
        .or_else(|| meta.file.clone())
        .unwrap_or_else(|| format!("import {id}"));
    VodItem {
        id,
        title,
        name: meta.name.unwrap_or_else(|| "import".into()),
        owner: meta.owner,
        tags: meta.tags,
        created_ms: model::now_ms(),
        duration: segments.iter().map(|s| s.duration).sum(),
        origin: Origin::Import {
            container: demuxed.container.name().to_owned(),
            file: meta.file,
        },
        partial: false,
        bytes: segments.iter().map(|s| s.bytes).sum(),
        renditions: vec![Rendition {
            video: demuxed.video.as_ref().map(VideoInfo::of),
            audio: demuxed.audio.as_ref().map(AudioInfo::of),
            peak_bandwidth: peak,
            average_bandwidth: average,
            segments,
        }],
    }
}
