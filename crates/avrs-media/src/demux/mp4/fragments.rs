//! Fragmented MP4: `moof` > `traf` (`tfhd`, `tfdt`, `trun`…) appends
//! samples to the tracks `moov` declared, with `trex` defaults.

use super::boxes::{Mp4Box, children, find, full_box, read_u64, require, table_count};
use super::{Sample, Track};
use crate::demux::assemble::check_frame_cap;
use crate::error::{MediaError, Result};

/// `trex` defaults of a track.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TrackDefaults {
    pub duration: u32,
    pub size: u32,
}

/// Reads every `traf` of every `moof`, in file order.
pub(super) fn read_fragments(
    moofs: &[Mp4Box<'_>],
    tracks: &mut [Track],
    file_len: usize,
) -> Result<()> {
    for moof in moofs {
        // Without an explicit base, the first `traf` starts at the `moof`
        // and each later one where the previous one's data ended.
        let mut implicit_base = moof.start as u64;
        for traf in children(moof) {
            let traf = traf?;
            if &traf.kind == b"traf" {
                implicit_base = read_traf(moof, &traf, implicit_base, tracks, file_len)?;
            }
        }
    }
    Ok(())
}

/// `tfhd` flags.
const BASE_DATA_OFFSET: u32 = 0x01;
const SAMPLE_DESCRIPTION_INDEX: u32 = 0x02;
const DEFAULT_DURATION: u32 = 0x08;
const DEFAULT_SIZE: u32 = 0x10;
const DEFAULT_FLAGS: u32 = 0x20;
const DEFAULT_BASE_IS_MOOF: u32 = 0x2_0000;

/// Reads one `traf`; returns where its data ended.
fn read_traf(
    moof: &Mp4Box<'_>,
    traf: &Mp4Box<'_>,
    implicit_base: u64,
    tracks: &mut [Track],
    file_len: usize,
) -> Result<u64> {
    let tfhd = require(traf, b"tfhd")?;
    let (_, flags, mut c) = full_box(&tfhd)?;
    let track_id = c.u32()?;
    let Some(track) = tracks.iter_mut().find(|t| t.id == track_id) else {
        return Ok(implicit_base); // a track we do not import
    };
    let mut base = implicit_base;
    if flags & BASE_DATA_OFFSET != 0 {
        base = read_u64(&mut c)?;
    } else if flags & DEFAULT_BASE_IS_MOOF != 0 {
        base = moof.start as u64;
    }
    if flags & SAMPLE_DESCRIPTION_INDEX != 0 {
        c.u32()?;
    }
    let mut defaults = track.defaults;
    if flags & DEFAULT_DURATION != 0 {
        defaults.duration = c.u32()?;
    }
    if flags & DEFAULT_SIZE != 0 {
        defaults.size = c.u32()?;
    }
    if flags & DEFAULT_FLAGS != 0 {
        c.u32()?;
    }
    if let Some(tfdt) = find(traf, b"tfdt")? {
        let (version, _, mut c) = full_box(&tfdt)?;
        track.end = if version == 1 {
            read_u64(&mut c)?
        } else {
            u64::from(c.u32()?)
        };
    }
    let mut position = base;
    for trun in children(traf) {
        let trun = trun?;
        if &trun.kind == b"trun" {
            position = read_trun(&trun, base, position, defaults, track, file_len)?;
        }
    }
    Ok(position)
}

/// `trun` flags.
const DATA_OFFSET: u32 = 0x01;
const FIRST_SAMPLE_FLAGS: u32 = 0x04;
const SAMPLE_DURATION: u32 = 0x100;
const SAMPLE_SIZE: u32 = 0x200;
const SAMPLE_FLAGS: u32 = 0x400;
const SAMPLE_CTS: u32 = 0x800;

/// Appends a run's samples; returns the file offset after its data.
fn read_trun(
    trun: &Mp4Box<'_>,
    base: u64,
    position: u64,
    defaults: TrackDefaults,
    track: &mut Track,
    file_len: usize,
) -> Result<u64> {
    let (_, flags, mut c) = full_box(trun)?;
    let per_sample = [SAMPLE_DURATION, SAMPLE_SIZE, SAMPLE_FLAGS, SAMPLE_CTS]
        .iter()
        .filter(|&&f| flags & f != 0)
        .count()
        * 4;
    let count = if per_sample > 0 {
        table_count(&mut c, per_sample, "trun")?
    } else {
        c.u32()? as usize
    };
    // Every sample holds at least a byte of the file: a bound on `count`
    // even when the run has no per-sample table.
    if count > file_len {
        return Err(malformed(format!(
            "'trun' of {count} samples in a {file_len}-byte file"
        )));
    }
    check_frame_cap(
        (track.samples.len() + count).saturating_sub(1),
        "MP4 track samples",
    )?;
    let mut offset = position;
    if flags & DATA_OFFSET != 0 {
        let delta = i64::from(c.u32()? as i32);
        offset = base
            .checked_add_signed(delta)
            .ok_or_else(|| malformed(format!("'trun' data offset {delta} before the file")))?;
    }
    if flags & FIRST_SAMPLE_FLAGS != 0 {
        c.u32()?;
    }
    for _ in 0..count {
        let field = |c: &mut crate::codec::cursor::Cursor<'_>, flag: u32, default: u32| {
            if flags & flag != 0 {
                c.u32()
            } else {
                Ok(default)
            }
        };
        let duration = field(&mut c, SAMPLE_DURATION, defaults.duration)?;
        let size = field(&mut c, SAMPLE_SIZE, defaults.size)?;
        field(&mut c, SAMPLE_FLAGS, 0)?;
        let cts = i64::from(field(&mut c, SAMPLE_CTS, 0)? as i32);
        track.samples.push(Sample {
            offset,
            size,
            dts: track.end,
            cts,
        });
        offset = offset.saturating_add(u64::from(size));
        track.end = track
            .end
            .checked_add(u64::from(duration))
            .ok_or_else(|| malformed("fragment decode time overflows".into()))?;
    }
    Ok(offset)
}

fn malformed(reason: String) -> MediaError {
    MediaError::Malformed {
        what: "MP4 fragment",
        reason,
    }
}
