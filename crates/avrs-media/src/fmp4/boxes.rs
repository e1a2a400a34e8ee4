//! A tiny writer of ISO BMFF boxes (ISO/IEC 14496-12 §4.2): a box is opened,
//! its body written in place, and its 32-bit size patched when it closes.
//! Writing by hand keeps the exact bytes under our control and in tests.

use crate::{MediaError, Result};

/// A box type: four ASCII bytes such as `moov`.
pub(crate) type FourCc = [u8; 4];

/// Growable output buffer with big-endian field writers.
#[derive(Debug, Default)]
pub(crate) struct BoxWriter {
    buf: Vec<u8>,
}

impl BoxWriter {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Writes a box of type `kind` whose body `body` writes.
    pub(crate) fn boxed(
        &mut self,
        kind: FourCc,
        body: impl FnOnce(&mut Self) -> Result<()>,
    ) -> Result<()> {
        let start = self.buf.len();
        self.u32(0);
        self.bytes(&kind);
        body(self)?;
        let size = self.buf.len() - start;
        let size32 = u32::try_from(size).map_err(|_| MediaError::TooLarge {
            what: "MP4 box",
            size,
            max: u32::MAX as usize,
        })?;
        self.patch_u32(start, size32);
        Ok(())
    }

    /// Writes a "full box": a box whose body starts with version and flags.
    pub(crate) fn full_box(
        &mut self,
        kind: FourCc,
        version: u8,
        flags: u32,
        body: impl FnOnce(&mut Self) -> Result<()>,
    ) -> Result<()> {
        self.boxed(kind, |w| {
            w.u32((u32::from(version) << 24) | (flags & 0x00FF_FFFF));
            body(w)
        })
    }

    pub(crate) fn u16(&mut self, value: u16) {
        self.bytes(&value.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.bytes(&value.to_be_bytes());
    }

    pub(crate) fn i32(&mut self, value: i32) {
        self.bytes(&value.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.bytes(&value.to_be_bytes());
    }

    pub(crate) fn bytes(&mut self, value: &[u8]) {
        self.buf.extend_from_slice(value);
    }

    pub(crate) fn zeros(&mut self, count: usize) {
        self.buf.resize(self.buf.len() + count, 0);
    }

    /// Bytes written so far.
    pub(crate) fn position(&self) -> usize {
        self.buf.len()
    }

    /// Overwrites four already written bytes at `at` (a no-op past the end,
    /// which the callers' own positions never are).
    pub(crate) fn patch_u32(&mut self, at: usize, value: u32) {
        if let Some(slot) = self.buf.get_mut(at..at + 4) {
            slot.copy_from_slice(&value.to_be_bytes());
        }
    }

    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_box_is_eight_bytes_of_size_and_type() {
        let mut w = BoxWriter::default();
        w.boxed(*b"free", |_| Ok(())).unwrap();
        assert_eq!(w.into_vec(), [0, 0, 0, 8, b'f', b'r', b'e', b'e']);
    }

    #[test]
    fn full_box_carries_version_and_24_bit_flags() {
        let mut w = BoxWriter::default();
        w.full_box(*b"tfhd", 1, 0x0102_0304, |w| {
            w.u16(0xABCD);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            w.into_vec(),
            [
                0, 0, 0, 14, b't', b'f', b'h', b'd', 1, 0x02, 0x03, 0x04, 0xAB, 0xCD
            ]
        );
    }

    #[test]
    fn nested_boxes_patch_their_own_sizes() {
        let mut w = BoxWriter::default();
        w.boxed(*b"moov", |w| {
            w.boxed(*b"mvex", |w| {
                w.bytes(&[7]);
                Ok(())
            })
        })
        .unwrap();
        assert_eq!(
            w.into_vec(),
            [
                0, 0, 0, 17, b'm', b'o', b'o', b'v', 0, 0, 0, 9, b'm', b'v', b'e', b'x', 7
            ]
        );
    }

    #[test]
    fn body_error_propagates() {
        let mut w = BoxWriter::default();
        let err = w
            .boxed(*b"moov", |_| {
                Err(MediaError::MissingConfig { what: "test" })
            })
            .unwrap_err();
        assert_eq!(err, MediaError::MissingConfig { what: "test" });
    }

    #[test]
    fn patch_past_the_end_is_ignored() {
        let mut w = BoxWriter::default();
        w.u16(1);
        w.patch_u32(0, 0xFFFF_FFFF);
        assert_eq!(w.into_vec(), [0, 1]);
    }
}
