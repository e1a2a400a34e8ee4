//! A bounds-checked reader over a byte slice, shared by the parsers of this
//! crate: every read checks the remaining length first, so untrusted input
//! yields [`MediaError::Truncated`] instead of a panic.

use crate::error::{MediaError, Result};

/// Reads big-endian fields from a slice, naming the structure in errors.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8], what: &'static str) -> Self {
        Self { data, pos: 0, what }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread bytes, without consuming them.
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(MediaError::Truncated {
                what: self.what,
                need: self.pos.saturating_add(n),
                have: self.data.len(),
            });
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u24(&mut self) -> Result<u32> {
        let [a, b, c] = self.array()?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    /// A signed 24-bit value (FLV composition time), sign-extended.
    pub(crate) fn i24(&mut self) -> Result<i32> {
        let raw = self.u24()?;
        // Shift the sign bit into bit 31, then back with an arithmetic shift.
        Ok(((raw << 8) as i32) >> 8)
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_be_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_fields() {
        let mut c = Cursor::new(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "test");
        assert_eq!(c.u8().unwrap(), 1);
        assert_eq!(c.u16().unwrap(), 0x0203);
        assert_eq!(c.u24().unwrap(), 0x04_0506);
        assert_eq!(c.remaining(), 4);
        assert_eq!(c.u32().unwrap(), 0x0708_090A);
        assert!(c.is_empty());
    }

    #[test]
    fn i24_sign_extends() {
        assert_eq!(Cursor::new(&[0xFF, 0xFF, 0xFF], "t").i24().unwrap(), -1);
        assert_eq!(Cursor::new(&[0x80, 0, 0], "t").i24().unwrap(), -0x80_0000);
        assert_eq!(
            Cursor::new(&[0x7F, 0xFF, 0xFF], "t").i24().unwrap(),
            0x7F_FFFF
        );
    }

    #[test]
    fn short_read_is_truncated_and_consumes_nothing() {
        let mut c = Cursor::new(&[1, 2], "thing");
        c.u8().unwrap();
        assert_eq!(
            c.u16(),
            Err(MediaError::Truncated {
                what: "thing",
                need: 3,
                have: 2
            })
        );
        assert_eq!(c.rest(), &[2]);
    }
}
