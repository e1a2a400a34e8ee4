//! Playlists of a content: the VoD media playlist (and a multivariant
//! playlist naming its renditions), or a sliding DVR playlist while a
//! recording runs.

use crate::error::{Result, VodError};
use crate::id::VodId;
use crate::library::Library;
use crate::model::{self, SegmentInfo};
use avrs_media::TIMESCALE;
use avrs_media::hls::{Variant, VodSegment, multivariant_playlist, vod_playlist};
use std::fmt::Write as _;

impl Library {
    /// `index.m3u8`: the whole content, or the DVR window of a running
    /// recording (no ENDLIST; players reload it).
    pub fn media_playlist(&self, id: VodId) -> Result<String> {
        if let Some(item) = self.db.item(id)? {
            let segments = item
                .renditions
                .first()
                .map(|r| r.segments.as_slice())
                .unwrap_or(&[]);
            let listed: Vec<VodSegment> = segments.iter().map(vod_segment).collect();
            return Ok(vod_playlist(&listed)?);
        }
        let header = self
            .db
            .recording(id)?
            .ok_or_else(|| VodError::NotFound(format!("VoD content {id}")))?;
        let segments = self.db.recording_segments(id)?;
        Ok(dvr_playlist(
            &segments,
            header.dvr_window_ms,
            self.config.segment_target.as_secs(),
        ))
    }

    /// `master.m3u8`: one variant per rendition (bandwidth, codecs,
    /// resolution).
    pub fn master_playlist(&self, id: VodId) -> Result<String> {
        let item = self.get(id)?;
        let variants: Vec<Variant> = item
            .renditions
            .iter()
            .enumerate()
            .map(|(n, r)| Variant {
                uri: if n == 0 {
                    "index.m3u8".into()
                } else {
                    format!("r{n}/index.m3u8")
                },
                bandwidth: r.peak_bandwidth.max(1),
                average_bandwidth: Some(r.average_bandwidth.max(1)),
                codecs: r
                    .video
                    .iter()
                    .map(|v| v.codec.clone())
                    .chain(r.audio.iter().map(|a| a.codec.clone()))
                    .collect(),
                resolution: r.video.as_ref().map(|v| (v.width, v.height)),
                frame_rate: None,
            })
            .collect();
        Ok(multivariant_playlist(&variants)?)
    }
}

fn vod_segment(segment: &SegmentInfo) -> VodSegment {
    VodSegment {
        uri: model::segment_object(segment.seq),
        duration: segment.duration,
        discontinuity: segment.discontinuity,
        init_uri: model::init_object(segment.init),
    }
}

/// The segments of the last `window_ms` (at least one), as a live playlist.
fn dvr_playlist(segments: &[SegmentInfo], window_ms: u64, target_secs: u64) -> String {
    let end = segments.last().map_or(0, |s| s.start + s.duration);
    let window = window_ms.saturating_mul(90);
    let first = segments
        .partition_point(|s| s.start + s.duration + window < end)
        .min(segments.len().saturating_sub(1));
    let listed = &segments[first.min(segments.len())..];
    let longest = listed
        .iter()
        .map(|s| s.duration.div_ceil(u64::from(TIMESCALE)))
        .max()
        .unwrap_or(0);
    let target = longest.max(target_secs).max(1);
    let discontinuities = segments[..first.min(segments.len())]
        .iter()
        .filter(|s| s.discontinuity)
        .count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:{target}"
    );
    let _ = writeln!(
        out,
        "#EXT-X-MEDIA-SEQUENCE:{}",
        listed.first().map_or(0, |s| s.seq)
    );
    let _ = writeln!(out, "#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuities}");
    let mut init = None;
    for segment in listed {
        if segment.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if init != Some(segment.init) {
            let _ = writeln!(
                out,
                "#EXT-X-MAP:URI=\"{}\"",
                model::init_object(segment.init)
            );
            init = Some(segment.init);
        }
        let seconds = segment.duration as f64 / f64::from(TIMESCALE);
        let _ = writeln!(
            out,
            "#EXTINF:{seconds:.5},\n{}",
            model::segment_object(segment.seq)
        );
    }
    out
}
