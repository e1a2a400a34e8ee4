//! A streaming FLV demuxer: feed it chunks of any size, take whole tags out.

use bytes::{Bytes, BytesMut};

use crate::error::{MediaError, Result};
use crate::flv::header::{
    FILE_HEADER_LEN, FileHeader, TAG_HEADER_LEN, TagHeader, TagType, malformed,
};

/// Default cap on one tag's data: far above any frame a live encoder sends
/// (a 4K keyframe is a few MB), far below the 16 MiB the format allows.
pub const DEFAULT_MAX_TAG_SIZE: usize = 8 << 20;

/// One tag: its header fields and its data (the RTMP message payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlvTag {
    pub tag_type: TagType,
    /// Milliseconds.
    pub timestamp: u32,
    pub data: Bytes,
}

/// Splits an FLV byte stream into tags.
///
/// Usage: [`push`](Self::push) bytes as they arrive, then call
/// [`next_tag`](Self::next_tag) until it returns `Ok(None)` ("need more").
/// Memory is bounded by what the caller pushes without draining, plus one
/// tag of at most `max_tag_size`. After an error every later call returns
/// the same error: the stream has lost its framing.
/// `PreviousTagSize` fields are skipped unchecked, as ffmpeg does, because
/// some writers fill them wrongly.
#[derive(Debug)]
pub struct FlvDemuxer {
    buf: BytesMut,
    header: Option<FileHeader>,
    max_tag_size: usize,
    failed: Option<MediaError>,
}

impl Default for FlvDemuxer {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_TAG_SIZE)
    }
}

impl FlvDemuxer {
    /// A demuxer refusing tags whose data exceeds `max_tag_size` bytes.
    pub fn new(max_tag_size: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            header: None,
            max_tag_size,
            failed: None,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(chunk);
        }
    }

    /// The file header, once it has been read.
    pub fn header(&self) -> Option<FileHeader> {
        self.header
    }

    /// Bytes pushed but not yet returned as tags.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete tag, or `Ok(None)` when more bytes are needed.
    pub fn next_tag(&mut self) -> Result<Option<FlvTag>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.read_tag();
        if let Err(e) = &result {
            self.failed = Some(e.clone());
            self.buf = BytesMut::new();
        }
        result
    }

    fn read_tag(&mut self) -> Result<Option<FlvTag>> {
        if self.header.is_none() && !self.read_file_header()? {
            return Ok(None);
        }
        if self.buf.len() < TAG_HEADER_LEN {
            return Ok(None);
        }
        let header = TagHeader::parse(&self.buf[..TAG_HEADER_LEN])?;
        let data_size = header.data_size as usize;
        if data_size > self.max_tag_size {
            return Err(MediaError::TooLarge {
                what: "FLV tag data",
                size: data_size,
                max: self.max_tag_size,
            });
        }
        if self.buf.len() < header.tag_len() {
            // Reserve once for the whole tag instead of growing by chunks;
            // the size was checked against the cap above.
            self.buf.reserve(header.tag_len() - self.buf.len());
            return Ok(None);
        }
        let mut tag = self.buf.split_to(header.tag_len());
        let data = tag.split_off(TAG_HEADER_LEN).split_to(data_size).freeze();
        Ok(Some(FlvTag {
            tag_type: header.tag_type,
            timestamp: header.timestamp,
            data,
        }))
    }

    /// Consumes the file header once enough bytes are there.
    fn read_file_header(&mut self) -> Result<bool> {
        // Reject a wrong signature at once rather than wait for 9 bytes.
        let seen = &self.buf[..self.buf.len().min(3)];
        if !b"FLV".starts_with(seen) {
            return Err(malformed("FLV header", "no 'FLV' signature"));
        }
        if self.buf.len() < FILE_HEADER_LEN {
            return Ok(false);
        }
        let (header, skip) = FileHeader::parse(&self.buf)?;
        if self.buf.len() < skip {
            return Ok(false);
        }
        let _ = self.buf.split_to(skip);
        self.header = Some(header);
        Ok(true)
    }
}

/// Parses one whole tag (header, data, `PreviousTagSize`) at the start of
/// `data`: returns the header, the tag data and the bytes consumed.
pub fn parse_tag(data: &[u8]) -> Result<(TagHeader, &[u8], usize)> {
    let header = TagHeader::parse(data)?;
    let len = header.tag_len();
    if data.len() < len {
        return Err(MediaError::Truncated {
            what: "FLV tag",
            need: len,
            have: data.len(),
        });
    }
    let body = &data[TAG_HEADER_LEN..TAG_HEADER_LEN + header.data_size as usize];
    Ok((header, body, len))
}
