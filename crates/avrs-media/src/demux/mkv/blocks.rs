//! `SimpleBlock` and `Block` bodies: track number, relative timestamp,
//! flags, and the frames of a laced block (Xiph, EBML or fixed-size lacing).

use super::ebml::read_vint;
use crate::codec::cursor::Cursor;
use crate::error::{MediaError, Result};

/// A block's header and frames.
#[derive(Debug)]
pub(super) struct Block<'a> {
    pub track: u64,
    /// Timestamp relative to the cluster's, in TimestampScale units.
    pub relative_time: i16,
    pub frames: Vec<&'a [u8]>,
}

const WHAT: &str = "Matroska block";

pub(super) fn parse_block(body: &[u8]) -> Result<Block<'_>> {
    let (track, len) = read_vint(body, 8, "Matroska block track number")?;
    let mut c = Cursor::new(body.get(len..).unwrap_or_default(), WHAT);
    let relative_time = c.u16()? as i16;
    let flags = c.u8()?;
    let frames = match (flags >> 1) & 0x03 {
        0b00 => vec![c.rest()],
        lacing => split_laced(c.rest(), lacing)?,
    };
    if frames.iter().any(|f| f.is_empty()) {
        return Err(malformed("empty frame in a block".into()));
    }
    Ok(Block {
        track,
        relative_time,
        frames,
    })
}

/// Splits a laced block: a frame count (minus one), the sizes of all but
/// the last frame, then the frames.
fn split_laced(data: &[u8], lacing: u8) -> Result<Vec<&[u8]>> {
    let mut c = Cursor::new(data, WHAT);
    let count = usize::from(c.u8()?) + 1;
    let mut sizes = Vec::with_capacity(count);
    match lacing {
        0b01 => {
            for _ in 1..count {
                sizes.push(xiph_size(&mut c)?);
            }
        }
        0b11 => ebml_sizes(&mut c, count, &mut sizes)?,
        _ => {
            let each = c.remaining() / count;
            if each * count != c.remaining() {
                return Err(malformed(format!(
                    "{} bytes do not split into {count} fixed-size frames",
                    c.remaining()
                )));
            }
            sizes.resize(count - 1, each);
        }
    }
    let mut frames = Vec::with_capacity(count);
    for size in sizes {
        frames.push(c.take(size)?);
    }
    frames.push(c.rest());
    Ok(frames)
}

/// Xiph lacing: a size is a run of 255 bytes plus a final byte below 255.
fn xiph_size(c: &mut Cursor<'_>) -> Result<usize> {
    let mut size = 0usize;
    loop {
        let byte = c.u8()?;
        size += usize::from(byte);
        if byte != 255 {
            return Ok(size);
        }
    }
}

/// EBML lacing: the first size as a vint, then signed differences.
fn ebml_sizes(c: &mut Cursor<'_>, count: usize, sizes: &mut Vec<usize>) -> Result<()> {
    let mut previous: i64 = 0;
    for index in 1..count {
        let (raw, len) = read_vint(c.rest(), 8, "Matroska EBML lace size")?;
        c.take(len)?;
        let size = if index == 1 {
            i64::try_from(raw).unwrap_or(i64::MAX)
        } else {
            // A signed vint is stored with a bias of 2^(7n-1) - 1.
            let bias = (1i64 << (7 * len - 1)) - 1;
            previous.saturating_add(i64::try_from(raw).unwrap_or(i64::MAX) - bias)
        };
        let size = usize::try_from(size)
            .map_err(|_| malformed(format!("negative EBML lace size {size}")))?;
        sizes.push(size);
        previous = size as i64;
    }
    Ok(())
}

fn malformed(reason: String) -> MediaError {
    MediaError::Malformed { what: WHAT, reason }
}
