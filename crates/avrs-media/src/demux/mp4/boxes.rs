//! ISO BMFF box headers: 32-bit sizes, 64-bit `largesize`, size 0 ("to the
//! end of the enclosing data"), and iteration over sibling boxes.

use crate::codec::cursor::Cursor;
use crate::error::{MediaError, Result};

/// One box: its type, where its body starts in the whole file, and the body.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mp4Box<'a> {
    pub kind: [u8; 4],
    /// File offset of the box's first header byte.
    pub start: usize,
    /// File offset of the body's first byte (the base of its children).
    pub body_start: usize,
    pub body: &'a [u8],
}

impl Mp4Box<'_> {
    pub fn name(&self) -> String {
        self.kind.iter().map(|&b| char::from(b)).collect()
    }
}

/// Iterates the boxes laid end to end in `data`, which begins at file offset
/// `base`. Yields an error (then stops) when a header or body runs past the
/// data.
pub(super) struct Boxes<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

pub(super) fn boxes(data: &[u8], base: usize) -> Boxes<'_> {
    Boxes { data, pos: 0, base }
}

impl<'a> Boxes<'a> {
    fn read(&mut self) -> Result<Mp4Box<'a>> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let mut c = Cursor::new(rest, "MP4 box header");
        let size32 = c.u32()?;
        let kind = c.array::<4>()?;
        let size = match size32 {
            0 => rest.len() as u64,
            1 => u64::from_be_bytes(c.array()?),
            n => u64::from(n),
        };
        let header = rest.len() - c.remaining();
        let start = self.base + self.pos;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size < header {
            return Err(MediaError::Malformed {
                what: "MP4 box",
                reason: format!("box at offset {start} declares size {size}, below its header"),
            });
        }
        if size > rest.len() {
            return Err(MediaError::Truncated {
                what: "MP4 box",
                need: size,
                have: rest.len(),
            });
        }
        self.pos += size;
        Ok(Mp4Box {
            kind,
            start,
            body_start: start + header,
            body: &rest[header..size],
        })
    }
}

impl<'a> Iterator for Boxes<'a> {
    type Item = Result<Mp4Box<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        let item = self.read();
        if item.is_err() {
            self.pos = self.data.len();
        }
        Some(item)
    }
}

/// The children of `parent`.
pub(super) fn children<'a>(parent: &Mp4Box<'a>) -> Boxes<'a> {
    boxes(parent.body, parent.body_start)
}

/// The first child of type `kind` in `parent`, if any.
pub(super) fn find<'a>(parent: &Mp4Box<'a>, kind: &[u8; 4]) -> Result<Option<Mp4Box<'a>>> {
    for item in children(parent) {
        let b = item?;
        if &b.kind == kind {
            return Ok(Some(b));
        }
    }
    Ok(None)
}

/// Like [`find`], but a missing box is an error naming it and its parent.
pub(super) fn require<'a>(parent: &Mp4Box<'a>, kind: &[u8; 4]) -> Result<Mp4Box<'a>> {
    find(parent, kind)?.ok_or_else(|| MediaError::Malformed {
        what: "MP4 file",
        reason: format!(
            "no '{}' box in '{}'",
            String::from_utf8_lossy(kind),
            parent.name()
        ),
    })
}

/// Splits a full box body into (version, flags, rest).
pub(super) fn full_box<'a>(b: &Mp4Box<'a>) -> Result<(u8, u32, Cursor<'a>)> {
    let mut c = Cursor::new(b.body, "MP4 full box");
    let word = c.u32()?;
    Ok(((word >> 24) as u8, word & 0x00FF_FFFF, c))
}

/// Reads a big-endian u64.
pub(super) fn read_u64(c: &mut Cursor<'_>) -> Result<u64> {
    Ok(u64::from_be_bytes(c.array()?))
}

/// Reads a table entry count and checks that `count` entries of
/// `entry_size` bytes fit in what is left of the box, before anything is
/// allocated for them.
pub(super) fn table_count(c: &mut Cursor<'_>, entry_size: usize, table: &str) -> Result<usize> {
    let count = c.u32()? as usize;
    let need = count.saturating_mul(entry_size);
    if need > c.remaining() {
        return Err(MediaError::Malformed {
            what: "MP4 sample table",
            reason: format!(
                "'{table}' declares {count} entries ({need} bytes) but holds {} bytes",
                c.remaining()
            ),
        });
    }
    Ok(count)
}
