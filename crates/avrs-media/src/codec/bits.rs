//! MSB-first bit reading and writing for the small bit-packed headers of
//! this crate (AudioSpecificConfig, ADTS). Reads past the end are errors.

use crate::error::{MediaError, Result};

/// Reads MSB-first bit fields from a byte slice.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    bit_pos: usize,
    what: &'static str,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8], what: &'static str) -> Self {
        Self {
            data,
            bit_pos: 0,
            what,
        }
    }

    /// Reads `count` (at most 32) bits as an unsigned number.
    pub(crate) fn read(&mut self, count: u32) -> Result<u32> {
        debug_assert!(count <= 32, "bit fields are at most 32 bits");
        let end = self.bit_pos + count as usize;
        if end > self.data.len() * 8 {
            return Err(MediaError::Truncated {
                what: self.what,
                need: end.div_ceil(8),
                have: self.data.len(),
            });
        }
        let mut value: u64 = 0;
        for _ in 0..count {
            let byte = self.data[self.bit_pos / 8];
            let bit = (byte >> (7 - self.bit_pos % 8)) & 1;
            value = (value << 1) | u64::from(bit);
            self.bit_pos += 1;
        }
        // `count` <= 32, so the value fits.
        Ok(value as u32)
    }

    /// Reads a field of at most 8 bits.
    pub(crate) fn read_u8(&mut self, count: u32) -> Result<u8> {
        debug_assert!(count <= 8);
        Ok(self.read(count)? as u8)
    }
}

/// Writes MSB-first bit fields; the last byte is zero-padded.
#[derive(Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    bit_len: usize,
}

impl BitWriter {
    /// Appends the low `count` (at most 32) bits of `value`.
    pub(crate) fn write(&mut self, value: u32, count: u32) {
        debug_assert!(count <= 32);
        for shift in (0..count).rev() {
            if self.bit_len.is_multiple_of(8) {
                self.bytes.push(0);
            }
            let bit = ((value >> shift) & 1) as u8;
            let last = self.bytes.len() - 1;
            self.bytes[last] |= bit << (7 - self.bit_len % 8);
            self.bit_len += 1;
        }
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_across_bytes() {
        let mut r = BitReader::new(&[0b1010_1100, 0b0101_0000], "t");
        assert_eq!(r.read(3).unwrap(), 0b101);
        assert_eq!(r.read(6).unwrap(), 0b01_1000);
        assert_eq!(r.read_u8(3).unwrap(), 0b101);
        assert_eq!(r.read(4).unwrap(), 0);
        assert!(matches!(
            r.read(1),
            Err(MediaError::Truncated { need: 3, .. })
        ));
    }

    #[test]
    fn reads_32_bits() {
        let mut r = BitReader::new(&[0xFF, 0xFF, 0xFF, 0xFF, 0x80], "t");
        assert_eq!(r.read(1).unwrap(), 1);
        assert_eq!(r.read(32).unwrap(), 0xFFFF_FFFF);
    }

    #[test]
    fn writer_pads_last_byte_with_zeros() {
        let mut w = BitWriter::default();
        w.write(0b00010, 5);
        w.write(0b0100, 4);
        w.write(0b0010, 4);
        w.write(0, 3);
        assert_eq!(w.into_bytes(), vec![0x12, 0x10]);
        let mut w = BitWriter::default();
        w.write(1, 1);
        assert_eq!(w.into_bytes(), vec![0x80]);
    }
}
