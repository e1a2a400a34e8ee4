//! A progressive track's sample table (`stbl`): sizes (`stsz`/`stz2`),
//! decode times (`stts`), composition offsets (`ctts`), and file offsets
//! (`stsc` + `stco`/`co64`). Sync samples (`stss`) are not read: keyframes
//! are the frames holding an IDR slice.

use super::Sample;
use super::boxes::{Mp4Box, find, full_box, read_u64, require, table_count};
use crate::demux::assemble::{MAX_FRAMES_PER_TRACK, check_frame_cap};
use crate::error::{MediaError, Result};

/// Every sample of the table, in decode order, and the decode time just
/// after the last one (in the track's timescale).
pub(super) fn read_samples(stbl: &Mp4Box<'_>, file_len: usize) -> Result<(Vec<Sample>, u64)> {
    let sizes = sample_sizes(stbl, file_len)?;
    let mut samples: Vec<Sample> = sizes
        .iter()
        .map(|&size| Sample {
            offset: 0,
            size,
            dts: 0,
            cts: 0,
        })
        .collect();
    let end = decode_times(&require(stbl, b"stts")?, &mut samples)?;
    if let Some(ctts) = find(stbl, b"ctts")? {
        composition_offsets(&ctts, &mut samples)?;
    }
    chunk_offsets(stbl, &mut samples)?;
    Ok((samples, end))
}

fn sample_sizes(stbl: &Mp4Box<'_>, file_len: usize) -> Result<Vec<u32>> {
    if let Some(stsz) = find(stbl, b"stsz")? {
        let (_, _, mut c) = full_box(&stsz)?;
        let fixed = c.u32()?;
        if fixed != 0 {
            let count = c.u32()? as usize;
            // Samples do not share bytes: together they fit in the file.
            if u64::from(fixed).saturating_mul(count as u64) > file_len as u64 {
                return Err(malformed(format!(
                    "{count} samples of {fixed} bytes in a {file_len}-byte file"
                )));
            }
            return Ok(vec![fixed; count]);
        }
        let count = table_count(&mut c, 4, "stsz")?;
        check_frame_cap(count.saturating_sub(1), "MP4 track samples")?;
        return (0..count).map(|_| c.u32()).collect();
    }
    let stz2 = require(stbl, b"stz2")?;
    let (_, _, mut c) = full_box(&stz2)?;
    let field_bits = c.u32()? & 0xFF;
    let count = c.u32()? as usize;
    check_frame_cap(count.saturating_sub(1), "MP4 track samples")?;
    let bytes = match field_bits {
        4 => count.div_ceil(2),
        8 => count,
        16 => count.saturating_mul(2),
        other => return Err(malformed(format!("'stz2' field size {other}"))),
    };
    let table = c.take(bytes)?;
    let sizes: Vec<u32> = match field_bits {
        4 => table
            .iter()
            .flat_map(|b| [b >> 4, b & 0x0F])
            .map(u32::from)
            .collect(),
        8 => table.iter().copied().map(u32::from).collect(),
        _ => table
            .chunks_exact(2)
            .map(|p| u32::from(u16::from_be_bytes([p[0], p[1]])))
            .collect(),
    };
    Ok(sizes.into_iter().take(count).collect())
}

/// Fills decode times from `stts` runs; returns the time after the last.
fn decode_times(stts: &Mp4Box<'_>, samples: &mut [Sample]) -> Result<u64> {
    let (_, _, mut c) = full_box(stts)?;
    let entries = table_count(&mut c, 8, "stts")?;
    let mut time = 0u64;
    let mut slots = samples.iter_mut();
    for _ in 0..entries {
        let (count, delta) = (c.u32()?, u64::from(c.u32()?));
        for _ in 0..count {
            let Some(sample) = slots.next() else { break };
            sample.dts = time;
            time = time
                .checked_add(delta)
                .ok_or_else(|| malformed("'stts' time overflows".into()))?;
        }
    }
    if slots.next().is_some() {
        return Err(malformed("'stts' covers fewer samples than 'stsz'".into()));
    }
    Ok(time)
}

/// Composition offsets: unsigned in version 0, signed in version 1 (and read
/// as signed in version 0 too, as writers that mean negative offsets do).
fn composition_offsets(ctts: &Mp4Box<'_>, samples: &mut [Sample]) -> Result<()> {
    let (_, _, mut c) = full_box(ctts)?;
    let entries = table_count(&mut c, 8, "ctts")?;
    let mut slots = samples.iter_mut();
    for _ in 0..entries {
        let (count, offset) = (c.u32()?, c.u32()? as i32);
        for _ in 0..count {
            let Some(sample) = slots.next() else { break };
            sample.cts = i64::from(offset);
        }
    }
    Ok(())
}

/// Places samples in chunks: `stsc` says how many samples each chunk holds,
/// `stco`/`co64` where each chunk starts; samples of a chunk are contiguous.
fn chunk_offsets(stbl: &Mp4Box<'_>, samples: &mut [Sample]) -> Result<()> {
    let chunks = chunk_starts(stbl)?;
    let stsc = require(stbl, b"stsc")?;
    let (_, _, mut c) = full_box(&stsc)?;
    let runs = table_count(&mut c, 12, "stsc")?;
    // (first chunk, samples per chunk); the description index is ignored
    // because a track has exactly one sample description.
    let mut runs: Vec<(usize, usize)> = (0..runs)
        .map(|_| {
            let run = (c.u32()? as usize, c.u32()? as usize);
            c.u32()?;
            Ok(run)
        })
        .collect::<Result<_>>()?;
    runs.push((usize::MAX, 0));
    let mut next = 0usize;
    let mut run = 0usize;
    for (index, &chunk_start) in chunks.iter().enumerate() {
        let chunk_number = index + 1;
        while runs.get(run + 1).is_some_and(|r| r.0 <= chunk_number) {
            run += 1;
        }
        let Some(&(first, per_chunk)) = runs.get(run) else {
            break;
        };
        if first > chunk_number {
            return Err(malformed(format!(
                "'stsc' does not cover chunk {chunk_number}"
            )));
        }
        let mut offset = chunk_start;
        for sample in samples.iter_mut().skip(next).take(per_chunk) {
            sample.offset = offset;
            offset = offset.saturating_add(u64::from(sample.size));
            next += 1;
        }
    }
    if next < samples.len() {
        return Err(malformed(format!(
            "chunks hold {next} of {} samples",
            samples.len()
        )));
    }
    Ok(())
}

/// Chunk file offsets from `stco` (32-bit) or `co64` (64-bit).
fn chunk_starts(stbl: &Mp4Box<'_>) -> Result<Vec<u64>> {
    let (table, wide) = match find(stbl, b"stco")? {
        Some(stco) => (stco, false),
        None => (require(stbl, b"co64")?, true),
    };
    let (_, _, mut c) = full_box(&table)?;
    let width = if wide { 8 } else { 4 };
    let count = table_count(&mut c, width, "stco")?;
    if count > MAX_FRAMES_PER_TRACK {
        return Err(MediaError::TooLarge {
            what: "MP4 chunk table",
            size: count,
            max: MAX_FRAMES_PER_TRACK,
        });
    }
    (0..count)
        .map(|_| {
            if wide {
                read_u64(&mut c)
            } else {
                c.u32().map(u64::from)
            }
        })
        .collect()
}

fn malformed(reason: String) -> MediaError {
    MediaError::Malformed {
        what: "MP4 sample table",
        reason,
    }
}
