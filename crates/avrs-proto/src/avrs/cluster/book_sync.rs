//! BOOK_SYNC / BOOK_SYNC_RESPONSE (ours): an operator node copies the
//! host's cluster book, one chunk per request, since the book (up to
//! [`MAX_BOOK_SIZE`]) is far larger than one control message.
//!
//! - BOOK_SYNC `[BOOK_NONCE, BOOK_REVISION?, BOOK_DIGEST?, BOOK_OFFSET?]`:
//!   a fresh nonce per pull; the revision and digest the asker holds (both
//!   or neither), so an asker up to date gets "unchanged" in one small
//!   reply; where to continue (absent: 0).
//! - BOOK_SYNC_RESPONSE `[BOOK_NONCE, BOOK_REVISION, BOOK_DIGEST,
//!   BOOK_SIZE, BOOK_OFFSET?, BOOK_CHUNK?]`: the request's nonce, the
//!   host's revision, the SHA3-256 of the whole book and its size; then
//!   the bytes at the offset (both or neither: neither means "unchanged").
//!   The host signs it (SIGN item); the signature is checked by the asker,
//!   not here.

use super::for_each_arg;
use super::types::{ClusterArg, ClusterType};
use crate::avrs::labels::labelled;
use crate::avrs::request::{Request, required, set_once};
use crate::error::{ProtoError, Result};
use crate::ids::Hash32;
use crate::tsd::{TsdBuilder, TsdItem};

/// Largest book one BOOK_SYNC transfer carries (the host's book file cap).
pub const MAX_BOOK_SIZE: u32 = 256 * 1024 * 1024;
/// Largest chunk: with the header, the other items and an ML-DSA-65 SIGN
/// (about 5.3 KB) a reply stays under the 64 KiB control message cap.
pub const MAX_BOOK_CHUNK: usize = 48 * 1024;
/// Size of BOOK_NONCE.
pub const BOOK_NONCE_SIZE: usize = 16;

const NONCE: &str = "book nonce";
const REVISION: &str = "book revision";
const DIGEST: &str = "book digest";
const SIZE: &str = "book size";
const OFFSET: &str = "book offset";
const CHUNK: &str = "book chunk";

/// Which book: the host's revision counter and the SHA3-256 of its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BookStamp {
    pub revision: u64,
    pub digest: Hash32,
}

/// BOOK_SYNC: an operator asks the host for its book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookSync {
    /// Random per pull; echoed under the host's signature, so an old
    /// signed reply cannot be replayed.
    pub nonce: [u8; BOOK_NONCE_SIZE],
    /// What the asker holds; `None`: nothing yet.
    pub have: Option<BookStamp>,
    /// Where to continue an unfinished transfer.
    pub offset: u32,
}

/// Bytes of the book at `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookChunk {
    pub offset: u32,
    pub bytes: Vec<u8>,
}

/// BOOK_SYNC_RESPONSE: the host's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookSyncResponse {
    pub nonce: [u8; BOOK_NONCE_SIZE],
    pub stamp: BookStamp,
    /// Size of the whole book, at most [`MAX_BOOK_SIZE`].
    pub size: u32,
    /// `None`: the book is the one the asker holds.
    pub chunk: Option<BookChunk>,
}

impl Request for BookSync {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::BookSync;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        check_offset(self.offset)?;
        args.put(ClusterArg::BookNonce.code(), &self.nonce)?;
        if let Some(have) = self.have {
            put_stamp(args, have);
        }
        if self.offset != 0 {
            args.put_u32(ClusterArg::BookOffset.code(), self.offset);
        }
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let mut read = Items::default();
        for_each_arg(items, |arg, item| match arg {
            ClusterArg::BookSize | ClusterArg::BookChunk => Ok(false),
            _ => read.take(arg, item),
        })?;
        let have = match (read.revision, read.digest) {
            (Some(revision), Some(digest)) => Some(BookStamp { revision, digest }),
            (None, None) => None,
            (None, Some(_)) => return Err(ProtoError::Missing { what: REVISION }),
            (Some(_), None) => return Err(ProtoError::Missing { what: DIGEST }),
        };
        let offset = read.offset.unwrap_or(0);
        check_offset(offset)?;
        Ok(Self {
            nonce: required(read.nonce, NONCE)?,
            have,
            offset,
        })
    }
}

impl Request for BookSyncResponse {
    type Kind = ClusterType;
    const KIND: ClusterType = ClusterType::BookSyncResponse;

    fn write_args(&self, args: &mut TsdBuilder) -> Result<()> {
        check_layout(self.size, self.chunk.as_ref())?;
        args.put(ClusterArg::BookNonce.code(), &self.nonce)?;
        put_stamp(args, self.stamp);
        args.put_u32(ClusterArg::BookSize.code(), self.size);
        if let Some(chunk) = &self.chunk {
            args.put_u32(ClusterArg::BookOffset.code(), chunk.offset);
            args.put(ClusterArg::BookChunk.code(), &chunk.bytes)?;
        }
        Ok(())
    }

    fn read_args(items: &[TsdItem<'_>]) -> Result<Self> {
        let mut read = Items::default();
        for_each_arg(items, |arg, item| read.take(arg, item))?;
        let chunk = match (read.offset, read.chunk) {
            (Some(offset), Some(bytes)) => Some(BookChunk { offset, bytes }),
            (None, None) => None,
            (None, Some(_)) => return Err(ProtoError::Missing { what: OFFSET }),
            (Some(_), None) => return Err(ProtoError::Missing { what: CHUNK }),
        };
        let size = required(read.size, SIZE)?;
        check_layout(size, chunk.as_ref())?;
        Ok(Self {
            nonce: required(read.nonce, NONCE)?,
            stamp: BookStamp {
                revision: required(read.revision, REVISION)?,
                digest: required(read.digest, DIGEST)?,
            },
            size,
            chunk,
        })
    }
}

/// The book items of either packet, each at most once.
#[derive(Default)]
struct Items {
    nonce: Option<[u8; BOOK_NONCE_SIZE]>,
    revision: Option<u64>,
    digest: Option<Hash32>,
    size: Option<u32>,
    offset: Option<u32>,
    chunk: Option<Vec<u8>>,
}

impl Items {
    fn take(&mut self, arg: ClusterArg, item: &TsdItem<'_>) -> Result<bool> {
        match arg {
            ClusterArg::BookNonce => {
                let nonce = item.value.try_into().map_err(|_| ProtoError::WrongSize {
                    what: NONCE,
                    expected: BOOK_NONCE_SIZE,
                    actual: item.value.len(),
                })?;
                set_once(&mut self.nonce, nonce, NONCE)?;
            }
            ClusterArg::BookRevision => {
                let revision = item.u64().map_err(labelled(REVISION))?;
                set_once(&mut self.revision, revision, REVISION)?;
            }
            ClusterArg::BookDigest => {
                let digest = item.hash().map_err(labelled(DIGEST))?;
                set_once(&mut self.digest, digest, DIGEST)?;
            }
            ClusterArg::BookSize => {
                let size = item.u32().map_err(labelled(SIZE))?;
                set_once(&mut self.size, size, SIZE)?;
            }
            ClusterArg::BookOffset => {
                let offset = item.u32().map_err(labelled(OFFSET))?;
                set_once(&mut self.offset, offset, OFFSET)?;
            }
            ClusterArg::BookChunk => {
                if item.value.len() > MAX_BOOK_CHUNK {
                    return Err(too_large(CHUNK, item.value.len(), MAX_BOOK_CHUNK));
                }
                set_once(&mut self.chunk, item.value.to_vec(), CHUNK)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn put_stamp(args: &mut TsdBuilder, stamp: BookStamp) {
    args.put_u64(ClusterArg::BookRevision.code(), stamp.revision);
    args.put_hash(ClusterArg::BookDigest.code(), &stamp.digest);
}

fn too_large(what: &'static str, size: usize, max: usize) -> ProtoError {
    ProtoError::TooLarge { what, size, max }
}

fn check_offset(offset: u32) -> Result<()> {
    match offset < MAX_BOOK_SIZE {
        true => Ok(()),
        false => Err(too_large(
            OFFSET,
            offset as usize,
            MAX_BOOK_SIZE as usize - 1,
        )),
    }
}

/// A size within the cap; a chunk that is not empty, within its cap, and
/// inside the book.
fn check_layout(size: u32, chunk: Option<&BookChunk>) -> Result<()> {
    if size > MAX_BOOK_SIZE {
        return Err(too_large(SIZE, size as usize, MAX_BOOK_SIZE as usize));
    }
    let Some(chunk) = chunk else {
        return Ok(());
    };
    if chunk.bytes.len() > MAX_BOOK_CHUNK {
        return Err(too_large(CHUNK, chunk.bytes.len(), MAX_BOOK_CHUNK));
    }
    let end = u64::from(chunk.offset) + chunk.bytes.len() as u64;
    if chunk.bytes.is_empty() || end > u64::from(size) {
        return Err(ProtoError::Malformed {
            what: CHUNK,
            reason: "empty, or past the end of the book",
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "book_sync_tests.rs"]
mod tests;
