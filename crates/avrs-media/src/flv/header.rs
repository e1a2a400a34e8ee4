//! The FLV file header and the 11-byte tag header (FLV spec v10.1, annex E).

use crate::codec::cursor::Cursor;
use crate::error::{MediaError, Result};

/// Bytes of the file header proper (`FLV`, version, flags, data offset).
pub const FILE_HEADER_LEN: usize = 9;
/// Bytes of a tag header.
pub const TAG_HEADER_LEN: usize = 11;
/// Bytes of each `PreviousTagSize` field.
pub const PREVIOUS_TAG_SIZE_LEN: usize = 4;
/// A tag's data size is a 24-bit field.
pub const MAX_TAG_DATA_SIZE: usize = 0xFF_FFFF;
/// The header's data offset is 9 in every known file; a larger value skips
/// extra bytes, and this cap bounds how many we are willing to skip.
pub const MAX_HEADER_OFFSET: u32 = 1024;

/// The FLV file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    pub has_audio: bool,
    pub has_video: bool,
}

impl FileHeader {
    /// Parses the header and returns it with the number of bytes up to the
    /// first tag: the data offset plus `PreviousTagSize0`.
    pub fn parse(data: &[u8]) -> Result<(Self, usize)> {
        let mut c = Cursor::new(data, "FLV header");
        if c.array::<3>()? != *b"FLV" {
            return Err(malformed("FLV header", "no 'FLV' signature"));
        }
        let version = c.u8()?;
        if version != 1 {
            return Err(MediaError::Unsupported {
                what: "FLV version",
                detail: version.to_string(),
            });
        }
        let flags = c.u8()?;
        let offset = c.u32()?;
        if offset < FILE_HEADER_LEN as u32 {
            return Err(malformed("FLV header", "data offset below 9"));
        }
        if offset > MAX_HEADER_OFFSET {
            return Err(MediaError::TooLarge {
                what: "FLV header data offset",
                size: offset as usize,
                max: MAX_HEADER_OFFSET as usize,
            });
        }
        let header = Self {
            has_audio: flags & 0x04 != 0,
            has_video: flags & 0x01 != 0,
        };
        Ok((header, offset as usize + PREVIOUS_TAG_SIZE_LEN))
    }

    /// The 9 header bytes followed by `PreviousTagSize0` (zero): 13 bytes.
    pub fn to_bytes(&self) -> [u8; FILE_HEADER_LEN + PREVIOUS_TAG_SIZE_LEN] {
        let flags = (u8::from(self.has_audio) << 2) | u8::from(self.has_video);
        [b'F', b'L', b'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0]
    }
}

/// What a tag carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagType {
    Audio,
    Video,
    /// AMF0 script data, such as `onMetaData`.
    Script,
    /// A type the FLV spec does not define (5 bits). Readers skip it.
    Other(u8),
}

impl TagType {
    pub fn from_u8(value: u8) -> Self {
        match value {
            8 => Self::Audio,
            9 => Self::Video,
            18 => Self::Script,
            other => Self::Other(other),
        }
    }

    /// The 5-bit wire value (`Other` values are masked to 5 bits).
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Audio => 8,
            Self::Video => 9,
            Self::Script => 18,
            Self::Other(v) => v & 0x1F,
        }
    }
}

/// An 11-byte FLV tag header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagHeader {
    pub tag_type: TagType,
    /// Bytes of tag data after this header (24 bits).
    pub data_size: u32,
    /// Milliseconds, 32 bits: the 24-bit field plus its extension byte.
    pub timestamp: u32,
}

impl TagHeader {
    /// Parses a tag header. Encrypted ("filtered") tags are refused; the
    /// stream id, always 0 in practice, is ignored as ffmpeg ignores it.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(data, "FLV tag header");
        let first = c.u8()?;
        if first & 0x20 != 0 {
            return Err(MediaError::Unsupported {
                what: "FLV tag",
                detail: "encrypted (filter bit set)".into(),
            });
        }
        let data_size = c.u24()?;
        let low = c.u24()?;
        let extended = c.u8()?;
        let _stream_id = c.u24()?;
        Ok(Self {
            tag_type: TagType::from_u8(first & 0x1F),
            data_size,
            timestamp: (u32::from(extended) << 24) | low,
        })
    }

    /// Builds a header for `data_size` bytes, refusing sizes over 24 bits.
    pub fn new(tag_type: TagType, data_size: usize, timestamp: u32) -> Result<Self> {
        if data_size > MAX_TAG_DATA_SIZE {
            return Err(MediaError::TooLarge {
                what: "FLV tag data",
                size: data_size,
                max: MAX_TAG_DATA_SIZE,
            });
        }
        Ok(Self {
            tag_type,
            data_size: data_size as u32,
            timestamp,
        })
    }

    /// The 11 wire bytes. `data_size` above 24 bits is masked (use
    /// [`TagHeader::new`] to check it).
    pub fn to_bytes(&self) -> [u8; TAG_HEADER_LEN] {
        let [_, s1, s2, s3] = self.data_size.to_be_bytes();
        let [t0, t1, t2, t3] = self.timestamp.to_be_bytes();
        [self.tag_type.to_u8(), s1, s2, s3, t1, t2, t3, t0, 0, 0, 0]
    }

    /// Bytes of the whole tag: header, data, and the `PreviousTagSize` after it.
    pub fn tag_len(&self) -> usize {
        TAG_HEADER_LEN + self.data_size as usize + PREVIOUS_TAG_SIZE_LEN
    }
}

pub(crate) fn malformed(what: &'static str, reason: &str) -> MediaError {
    MediaError::Malformed {
        what,
        reason: reason.into(),
    }
}
