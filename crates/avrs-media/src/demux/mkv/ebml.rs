//! EBML (RFC 8794): variable-length element ids and sizes, and an element
//! reader that reports unknown sizes instead of guessing them.

use crate::error::{MediaError, Result};

/// An element header: its id (marker bits kept, as ids are written), its
/// body size (`None` when the size is "unknown"), and the header length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    pub id: u32,
    pub size: Option<u64>,
    pub len: usize,
}

/// Reads an element header at the start of `data`.
pub(super) fn read_header(data: &[u8]) -> Result<Header> {
    let (id, id_len) = read_vint(data, 4, "EBML element id")?;
    let id = (id | marker(id_len)) as u32;
    let rest = data.get(id_len..).unwrap_or_default();
    let (size, size_len) = read_vint(rest, 8, "EBML element size")?;
    let all_ones = (1u64 << (7 * size_len)) - 1;
    Ok(Header {
        id,
        size: (size != all_ones).then_some(size),
        len: id_len + size_len,
    })
}

/// Reads a variable-length integer of at most `max_len` bytes; returns its
/// value without the length marker, and its length.
pub(super) fn read_vint(data: &[u8], max_len: usize, what: &'static str) -> Result<(u64, usize)> {
    let first = *data.first().ok_or(MediaError::Truncated {
        what,
        need: 1,
        have: 0,
    })?;
    let len = first.leading_zeros() as usize + 1;
    if len > max_len {
        return Err(MediaError::Malformed {
            what,
            reason: format!("first byte 0x{first:02X} announces more than {max_len} bytes"),
        });
    }
    let bytes = data.get(..len).ok_or(MediaError::Truncated {
        what,
        need: len,
        have: data.len(),
    })?;
    let value = bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
    Ok((value & !marker(len), len))
}

/// The length-marker bit of a `len`-byte vint.
fn marker(len: usize) -> u64 {
    1u64 << (7 * len)
}

/// Big-endian unsigned integer of 0 to 8 bytes.
pub(super) fn read_uint(body: &[u8], what: &'static str) -> Result<u64> {
    if body.len() > 8 {
        return Err(MediaError::Malformed {
            what,
            reason: format!("{}-byte unsigned integer", body.len()),
        });
    }
    Ok(body.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
}

/// IEEE float of 0, 4 or 8 bytes.
pub(super) fn read_float(body: &[u8], what: &'static str) -> Result<f64> {
    match *body {
        [] => Ok(0.0),
        [a, b, c, d] => Ok(f64::from(f32::from_be_bytes([a, b, c, d]))),
        [a, b, c, d, e, f, g, h] => Ok(f64::from_be_bytes([a, b, c, d, e, f, g, h])),
        _ => Err(MediaError::Malformed {
            what,
            reason: format!("{}-byte float", body.len()),
        }),
    }
}

/// A string element, without trailing NUL padding.
pub(super) fn read_string(body: &[u8]) -> String {
    let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
    String::from_utf8_lossy(body.get(..end).unwrap_or_default()).into_owned()
}

/// One child element: header and body.
#[derive(Debug, Clone, Copy)]
pub(super) struct Element<'a> {
    pub id: u32,
    pub body: &'a [u8],
}

/// Iterates elements of known size laid end to end (the children of a
/// master element such as `Info` or `TrackEntry`); an unknown size there
/// is an error.
pub(super) struct Children<'a> {
    data: &'a [u8],
    what: &'static str,
}

pub(super) fn children<'a>(data: &'a [u8], what: &'static str) -> Children<'a> {
    Children { data, what }
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<Element<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        let item = split_element(self.data, self.what);
        match item {
            Ok((element, rest)) => {
                self.data = rest;
                Some(Ok(element))
            }
            Err(e) => {
                self.data = &[];
                Some(Err(e))
            }
        }
    }
}

/// Splits the first element (of known size) off `data`.
pub(super) fn split_element<'a>(
    data: &'a [u8],
    what: &'static str,
) -> Result<(Element<'a>, &'a [u8])> {
    let header = read_header(data)?;
    let size = header.size.ok_or_else(|| MediaError::Malformed {
        what,
        reason: format!("element 0x{:X} has an unknown size", header.id),
    })?;
    let end = usize::try_from(size)
        .ok()
        .and_then(|size| header.len.checked_add(size))
        .filter(|&end| end <= data.len())
        .ok_or(MediaError::Truncated {
            what,
            need: header
                .len
                .saturating_add(usize::try_from(size).unwrap_or(usize::MAX)),
            have: data.len(),
        })?;
    let body = data.get(header.len..end).unwrap_or_default();
    let rest = data.get(end..).unwrap_or_default();
    Ok((
        Element {
            id: header.id,
            body,
        },
        rest,
    ))
}
