//! MP4/MOV import: progressive files (`moov` at the start or the end, sample
//! tables in `stbl`) and fragmented files (`moov` + `mvex`, then
//! `moof`/`mdat` pairs).
//!
//! Edit lists (`elst`) are ignored: times are the media times of the
//! sample tables, so an encoder delay kept by an edit list shows up as a
//! shift of that track (for example two frames of B-frame delay).

mod boxes;
mod fragments;
mod sample_entry;
mod sample_table;

use bytes::Bytes;

use self::boxes::{Mp4Box, children, find, full_box, require};
use self::fragments::{TrackDefaults, read_fragments};
use self::sample_entry::{SampleEntry, parse_stsd};
use super::assemble::{finish, to_ticks};
use super::{Container, Demuxed};
use crate::error::{MediaError, Result};
use crate::frame::{AudioConfig, MediaFrame, TrackKind, VideoConfig};

/// One sample, times in the track's timescale.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sample {
    offset: u64,
    size: u32,
    dts: u64,
    /// Composition offset: pts = dts + cts.
    cts: i64,
}

/// A track being imported.
pub(super) struct Track {
    id: u32,
    entry: SampleEntry,
    timescale: u32,
    samples: Vec<Sample>,
    /// Decode time after the last sample so far.
    end: u64,
    defaults: TrackDefaults,
}

pub(super) fn demux(data: &[u8]) -> Result<Demuxed> {
    let file = Mp4Box {
        kind: *b"file",
        start: 0,
        body_start: 0,
        body: data,
    };
    let mut moov = None;
    let mut moofs = Vec::new();
    for b in children(&file) {
        let b = b?;
        match &b.kind {
            b"moov" if moov.is_some() => return Err(malformed("more than one 'moov' box")),
            b"moov" => moov = Some(b),
            b"moof" => moofs.push(b),
            _ => {}
        }
    }
    let moov = moov.ok_or_else(|| malformed("no 'moov' box"))?;
    let mut tracks = read_tracks(&moov, data.len())?;
    read_fragments(&moofs, &mut tracks, data.len())?;
    to_demuxed(data, tracks)
}

/// The first H.264 and the first AAC track; any other audio or video codec
/// is refused, other tracks (text, timecode, hint …) are skipped.
fn read_tracks(moov: &Mp4Box<'_>, file_len: usize) -> Result<Vec<Track>> {
    let mut tracks: Vec<Track> = Vec::new();
    for trak in children(moov) {
        let trak = trak?;
        if &trak.kind != b"trak" {
            continue;
        }
        let Some(track) = read_track(&trak, file_len)? else {
            continue;
        };
        if !tracks
            .iter()
            .any(|t| kind_of(&t.entry) == kind_of(&track.entry))
        {
            tracks.push(track);
        }
    }
    if let Some(mvex) = find(moov, b"mvex")? {
        read_trex(&mvex, &mut tracks)?;
    }
    Ok(tracks)
}

fn read_track(trak: &Mp4Box<'_>, file_len: usize) -> Result<Option<Track>> {
    let mdia = require(trak, b"mdia")?;
    let (_, _, mut hdlr) = full_box(&require(&mdia, b"hdlr")?)?;
    hdlr.u32()?; // pre_defined
    if !matches!(&hdlr.array::<4>()?, b"vide" | b"soun") {
        return Ok(None);
    }
    let (version, _, mut tkhd) = full_box(&require(trak, b"tkhd")?)?;
    tkhd.take(if version == 1 { 16 } else { 8 })?;
    let id = tkhd.u32()?;
    let (version, _, mut mdhd) = full_box(&require(&mdia, b"mdhd")?)?;
    mdhd.take(if version == 1 { 16 } else { 8 })?;
    let timescale = mdhd.u32()?;
    if timescale == 0 {
        return Err(malformed("'mdhd' timescale 0"));
    }
    let stbl = require(&require(&mdia, b"minf")?, b"stbl")?;
    let entry = parse_stsd(&require(&stbl, b"stsd")?)?;
    let (samples, end) = sample_table::read_samples(&stbl, file_len)?;
    Ok(Some(Track {
        id,
        entry,
        timescale,
        samples,
        end,
        defaults: TrackDefaults::default(),
    }))
}

fn read_trex(mvex: &Mp4Box<'_>, tracks: &mut [Track]) -> Result<()> {
    for trex in children(mvex) {
        let trex = trex?;
        if &trex.kind != b"trex" {
            continue;
        }
        let (_, _, mut c) = full_box(&trex)?;
        let id = c.u32()?;
        c.u32()?; // default_sample_description_index
        let defaults = TrackDefaults {
            duration: c.u32()?,
            size: c.u32()?,
        };
        if let Some(track) = tracks.iter_mut().find(|t| t.id == id) {
            track.defaults = defaults;
        }
    }
    Ok(())
}

fn kind_of(entry: &SampleEntry) -> TrackKind {
    match entry {
        SampleEntry::Video(_) => TrackKind::Video,
        SampleEntry::Audio(_) => TrackKind::Audio,
    }
}

fn to_demuxed(data: &[u8], tracks: Vec<Track>) -> Result<Demuxed> {
    // Samples never share bytes, so together they fit in the file: this
    // bounds the copying below by the file size.
    let total: u64 = tracks
        .iter()
        .flat_map(|t| &t.samples)
        .map(|s| u64::from(s.size))
        .sum();
    if total > data.len() as u64 {
        return Err(malformed("samples add up to more bytes than the file"));
    }
    let mut video: Option<VideoConfig> = None;
    let mut audio: Option<AudioConfig> = None;
    let mut frames = Vec::new();
    for track in tracks {
        let kind = kind_of(&track.entry);
        match track.entry.clone() {
            SampleEntry::Video(config) => video = Some(config),
            SampleEntry::Audio(config) => audio = Some(config),
        }
        for (index, sample) in track.samples.iter().enumerate() {
            frames.push(to_frame(data, &track, kind, index, sample)?);
        }
    }
    finish(Container::Mp4, video, audio, frames)
}

fn to_frame(
    data: &[u8],
    track: &Track,
    kind: TrackKind,
    index: usize,
    sample: &Sample,
) -> Result<MediaFrame> {
    let start = usize::try_from(sample.offset).unwrap_or(usize::MAX);
    let bytes = start
        .checked_add(sample.size as usize)
        .and_then(|end| data.get(start..end))
        .ok_or_else(|| MediaError::Truncated {
            what: "MP4 sample data",
            need: start.saturating_add(sample.size as usize),
            have: data.len(),
        })?;
    if bytes.is_empty() {
        return Err(MediaError::Malformed {
            what: "MP4 sample",
            reason: format!("sample {index} of track {} is empty", track.id),
        });
    }
    let timescale = u64::from(track.timescale);
    let dts = to_ticks(i128::from(sample.dts), timescale, "MP4 sample time")?;
    let pts = match kind {
        TrackKind::Video => {
            let pts = i128::from(sample.dts) + i128::from(sample.cts);
            to_ticks(pts, timescale, "MP4 sample time")?
        }
        TrackKind::Audio => dts,
    };
    Ok(MediaFrame {
        track: kind,
        dts,
        pts,
        keyframe: true,
        data: Bytes::copy_from_slice(bytes),
    })
}

#[cfg(test)]
mod tests;

fn malformed(reason: &str) -> MediaError {
    MediaError::Malformed {
        what: "MP4 file",
        reason: reason.into(),
    }
}
