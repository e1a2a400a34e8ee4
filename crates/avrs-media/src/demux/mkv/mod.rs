//! Matroska/WebM import: the EBML header's DocType, then the Segment's
//! Info (TimestampScale), Tracks and Clusters (SimpleBlock, BlockGroup >
//! Block). Segments and Clusters of unknown size (live-written files) are
//! read to the next top-level element or the end of the file. Every other
//! element is skipped by its size.

mod blocks;
mod ebml;
mod ids;
mod timing;
mod tracks;

use bytes::Bytes;

use self::blocks::parse_block;
use self::ebml::{children, read_header, read_string, read_uint, split_element};
use self::tracks::{Tracks, read_tracks};
use super::assemble::{check_frame_cap, finish, to_ticks};
use super::{Container, Demuxed};
use crate::error::{MediaError, Result};
use crate::frame::{MediaFrame, TrackKind};

/// TimestampScale when Info does not say: 1 ms.
const DEFAULT_TIMESTAMP_SCALE: u64 = 1_000_000;
const NANOS_PER_SECOND: u64 = 1_000_000_000;
/// Samples per AAC frame: the time step between laced audio frames.
const AAC_FRAME_SAMPLES: i128 = 1024;

/// A frame as stored: block time in TimestampScale units, and its index in
/// a laced block.
struct RawFrame {
    track: TrackKind,
    time: i64,
    lace_index: usize,
    data: Bytes,
}

struct State {
    timestamp_scale: u64,
    tracks: Tracks,
    frames: Vec<RawFrame>,
    counts: [usize; 2],
}

pub(super) fn demux(data: &[u8]) -> Result<Demuxed> {
    let (header, rest) = split_element(data, "EBML header")?;
    if header.id != ids::EBML {
        return Err(malformed(format!(
            "first element 0x{:X} is not an EBML header",
            header.id
        )));
    }
    let container = doc_type(header.body)?;
    let segment = segment_body(rest)?;
    let mut state = State {
        timestamp_scale: DEFAULT_TIMESTAMP_SCALE,
        tracks: Tracks::default(),
        frames: Vec::new(),
        counts: [0, 0],
    };
    read_segment(segment, &mut state)?;
    state.into_demuxed(container)
}

/// Matroska or WebM, from the EBML header's DocType.
fn doc_type(body: &[u8]) -> Result<Container> {
    for element in children(body, "EBML header") {
        let element = element?;
        if element.id == ids::DOC_TYPE {
            return match read_string(element.body).as_str() {
                "matroska" => Ok(Container::Matroska),
                "webm" => Ok(Container::WebM),
                other => Err(MediaError::Unsupported {
                    what: "EBML document",
                    detail: format!("DocType {other:?} (expected matroska or webm)"),
                }),
            };
        }
    }
    Err(malformed("EBML header without DocType".into()))
}

/// The Segment's body: up to its size, or to the end when unknown.
fn segment_body(data: &[u8]) -> Result<&[u8]> {
    let header = read_header(data)?;
    if header.id != ids::SEGMENT {
        return Err(malformed(format!(
            "element 0x{:X} where the Segment was expected",
            header.id
        )));
    }
    let body = data.get(header.len..).unwrap_or_default();
    match header.size {
        None => Ok(body),
        Some(size) => {
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            body.get(..size).ok_or(MediaError::Truncated {
                what: "Matroska Segment",
                need: size,
                have: body.len(),
            })
        }
    }
}

fn read_segment(mut data: &[u8], state: &mut State) -> Result<()> {
    while !data.is_empty() {
        let header = read_header(data)?;
        if header.id == ids::CLUSTER && header.size.is_none() {
            let body = data.get(header.len..).unwrap_or_default();
            data = read_cluster(body, true, state)?;
            continue;
        }
        let (element, rest) = split_element(data, "Matroska Segment")?;
        match element.id {
            ids::INFO => read_info(element.body, state)?,
            ids::TRACKS => read_tracks(element.body, &mut state.tracks)?,
            ids::CLUSTER => drop(read_cluster(element.body, false, state)?),
            _ => {}
        }
        data = rest;
    }
    Ok(())
}

fn read_info(body: &[u8], state: &mut State) -> Result<()> {
    for element in children(body, "Matroska Info") {
        let element = element?;
        if element.id == ids::TIMESTAMP_SCALE {
            state.timestamp_scale = read_uint(element.body, "TimestampScale")?;
            if state.timestamp_scale == 0 {
                return Err(malformed("TimestampScale 0".into()));
            }
        }
    }
    Ok(())
}

/// Reads a Cluster's children. An unknown-size Cluster ends where a
/// Segment-level element starts; returns the bytes after the Cluster.
fn read_cluster<'a>(mut data: &'a [u8], unknown_size: bool, state: &mut State) -> Result<&'a [u8]> {
    let mut cluster_time: Option<i64> = None;
    while !data.is_empty() {
        if unknown_size && ids::SEGMENT_CHILDREN.contains(&read_header(data)?.id) {
            return Ok(data);
        }
        let (element, rest) = split_element(data, "Matroska Cluster")?;
        match element.id {
            ids::TIMESTAMP => {
                let time = read_uint(element.body, "Cluster Timestamp")?;
                cluster_time = Some(
                    i64::try_from(time)
                        .map_err(|_| malformed("Cluster Timestamp out of range".into()))?,
                );
            }
            ids::SIMPLE_BLOCK => state.add_block(element.body, cluster_time)?,
            ids::BLOCK_GROUP => {
                for child in children(element.body, "Matroska BlockGroup") {
                    let child = child?;
                    if child.id == ids::BLOCK {
                        state.add_block(child.body, cluster_time)?;
                    }
                }
            }
            _ => {}
        }
        data = rest;
    }
    Ok(data)
}

impl State {
    /// Keeps the frames of a block on an imported track; blocks of other
    /// tracks (subtitles, extra tracks) are skipped.
    fn add_block(&mut self, body: &[u8], cluster_time: Option<i64>) -> Result<()> {
        let block = parse_block(body)?;
        let track = match (&self.tracks.video, &self.tracks.audio) {
            (Some((number, _)), _) if *number == block.track => TrackKind::Video,
            (_, Some((number, _))) if *number == block.track => TrackKind::Audio,
            _ => return Ok(()),
        };
        let cluster_time =
            cluster_time.ok_or_else(|| malformed("block before its Cluster Timestamp".into()))?;
        if track == TrackKind::Video && block.frames.len() > 1 {
            return Err(MediaError::Unsupported {
                what: "Matroska block",
                detail: "laced video frames".into(),
            });
        }
        let slot = usize::from(track == TrackKind::Audio);
        let count = &mut self.counts[slot];
        check_frame_cap(
            count.saturating_add(block.frames.len()).saturating_sub(1),
            "Matroska track frames",
        )?;
        *count += block.frames.len();
        let time = cluster_time.saturating_add(i64::from(block.relative_time));
        for (lace_index, frame) in block.frames.into_iter().enumerate() {
            self.frames.push(RawFrame {
                track,
                time,
                lace_index,
                data: Bytes::copy_from_slice(frame),
            });
        }
        Ok(())
    }

    fn into_demuxed(self, container: Container) -> Result<Demuxed> {
        let audio_rate = self
            .tracks
            .audio
            .as_ref()
            .map_or(1, |(_, c)| u64::from(c.sample_rate.max(1)));
        let mut frames = Vec::with_capacity(self.frames.len());
        for raw in self.frames {
            let nanos = i128::from(raw.time) * i128::from(self.timestamp_scale);
            let mut time = to_ticks(nanos, NANOS_PER_SECOND, "Matroska block time")?;
            if raw.lace_index > 0 {
                let samples = raw.lace_index as i128 * AAC_FRAME_SAMPLES;
                time += to_ticks(samples, audio_rate, "Matroska laced frame time")?;
            }
            frames.push(MediaFrame {
                track: raw.track,
                dts: time,
                pts: time,
                keyframe: true,
                data: raw.data,
            });
        }
        set_video_decode_times(&mut frames);
        let video = self.tracks.video.map(|(_, config)| config);
        let audio = self.tracks.audio.map(|(_, config)| config);
        finish(container, video, audio, frames)
    }
}

/// Replaces video `dts` (so far equal to `pts`) with derived decode times;
/// see [`timing`].
fn set_video_decode_times(frames: &mut [MediaFrame]) {
    let is_video = |f: &&mut MediaFrame| f.track == TrackKind::Video;
    let pts: Vec<i64> = frames
        .iter()
        .filter(|f| f.track == TrackKind::Video)
        .map(|f| f.pts)
        .collect();
    let dts = timing::decode_times(&pts);
    for (frame, dts) in frames.iter_mut().filter(is_video).zip(dts) {
        frame.dts = dts;
    }
}

#[cfg(test)]
mod tests;

fn malformed(reason: String) -> MediaError {
    MediaError::Malformed {
        what: "Matroska file",
        reason,
    }
}
