//! Demuxed segments kept for the next reader: every native VoD session
//! starting or seeking reads one or two segments, and viewers of the same
//! content read the same ones. Bounded by the bytes of frame data held;
//! the least recently used segment goes first.

use crate::frames::SegmentFrames;
use crate::id::VodId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Default bound: 64 MiB of frame data (~70 s of 7.7 Mbit/s video).
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

#[derive(Debug)]
pub(crate) struct SegmentCache {
    limit: usize,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// (content, segment seq) → (frames, last use).
    map: HashMap<(VodId, u32), (Arc<SegmentFrames>, u64)>,
    bytes: usize,
    clock: u64,
}

fn size_of(frames: &SegmentFrames) -> usize {
    frames.frames.iter().map(|f| f.data.len()).sum()
}

impl SegmentCache {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            inner: Mutex::default(),
        }
    }

    pub(crate) fn get(&self, id: VodId, seq: u32) -> Option<Arc<SegmentFrames>> {
        let mut entries = self.lock();
        entries.clock += 1;
        let now = entries.clock;
        let (frames, used) = entries.map.get_mut(&(id, seq))?;
        *used = now;
        Some(frames.clone())
    }

    /// Keeps `frames`, evicting the least recently used past the bound (a
    /// segment larger than the whole bound is not kept).
    pub(crate) fn put(&self, id: VodId, seq: u32, frames: Arc<SegmentFrames>) {
        let size = size_of(&frames);
        if size > self.limit {
            return;
        }
        let mut entries = self.lock();
        entries.clock += 1;
        let now = entries.clock;
        if let Some((old, _)) = entries.map.insert((id, seq), (frames, now)) {
            entries.bytes -= size_of(&old);
        }
        entries.bytes += size;
        while entries.bytes > self.limit {
            let Some(oldest) = entries.map.iter().min_by_key(|(_, (_, used))| *used) else {
                break;
            };
            let key = *oldest.0;
            if let Some((evicted, _)) = entries.map.remove(&key) {
                entries.bytes -= size_of(&evicted);
            }
        }
    }

    /// Drops every segment of `id` (deleted).
    pub(crate) fn forget(&self, id: VodId) {
        let mut entries = self.lock();
        let keys: Vec<_> = entries.map.keys().filter(|k| k.0 == id).copied().collect();
        for key in keys {
            if let Some((frames, _)) = entries.map.remove(&key) {
                entries.bytes -= size_of(&frames);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the map inconsistent
        // beyond a wrong byte count: keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SegmentInfo;
    use avrs_media::{MediaFrame, TrackKind};
    use bytes::Bytes;

    fn segment(seq: u32, bytes: usize) -> Arc<SegmentFrames> {
        Arc::new(SegmentFrames {
            segment: SegmentInfo {
                seq,
                start: 0,
                duration: 0,
                bytes: bytes as u64,
                init: 0,
                discontinuity: false,
            },
            video: None,
            audio: None,
            frames: vec![MediaFrame {
                track: TrackKind::Video,
                dts: 0,
                pts: 0,
                keyframe: true,
                data: Bytes::from(vec![0; bytes]),
            }],
        })
    }

    #[test]
    fn the_least_recently_used_segment_goes_past_the_bound() {
        let cache = SegmentCache::new(250);
        let (a, b) = (VodId::new(1), VodId::new(1));
        cache.put(a, 0, segment(0, 100));
        cache.put(a, 1, segment(1, 100));
        assert!(cache.get(a, 0).is_some(), "0 is now the most recent");
        cache.put(b, 0, segment(0, 100));
        assert!(cache.get(a, 1).is_none(), "1 was the least recent");
        assert!(cache.get(a, 0).is_some());
        assert!(cache.get(b, 0).is_some());
        cache.put(a, 9, segment(9, 300));
        assert!(cache.get(a, 9).is_none(), "larger than the bound");
        cache.forget(a);
        assert!(cache.get(a, 0).is_none());
        assert!(cache.get(b, 0).is_some());
        assert_eq!(cache.lock().bytes, 100);
    }
}
