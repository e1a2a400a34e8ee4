//! BOOK_SYNC, sans-IO: the host answers from a [`Snapshot`] of its book
//! (its JSON, made once per revision), signed with its member key; an
//! operator's [`Puller`] checks each reply (the host's signature, its own
//! nonce, chunks in order, the digest of the whole) and ends with the
//! host's book, or with "unchanged" when it holds that one already.

use super::book::ClusterBook;
use crate::error::{ClusterError, Result};
use avrs_crypto::{SignCheckError, SigningKey, sha3_256, sign_packet, verify_packet};
use avrs_proto::Hash32;
use avrs_proto::avrs::cluster::{
    BOOK_NONCE_SIZE, BookChunk, BookStamp, BookSync, BookSyncResponse, CLUSTER_SIGN_CODE,
    ClusterType, MAX_BOOK_CHUNK, MAX_BOOK_SIZE,
};
use avrs_proto::avrs::{ControlPacket, Request, RetCode, RetCodePacket};
use std::sync::Arc;

/// BOOK_SYNC at an offset past the end of the book.
pub const BAD_OFFSET: &str = "BAD_OFFSET";
/// The host's book is larger than one transfer carries.
pub const BOOK_TOO_LARGE: &str = "BOOK_TOO_LARGE";
/// The host could not sign its answer.
pub const NOT_SIGNED: &str = "NOT_SIGNED";

/// How often a transfer starts again because the host's book changed
/// under it, before the pull gives up until the next one.
const MAX_RESTARTS: u32 = 3;

/// The host's book as BOOK_SYNC sends it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub stamp: BookStamp,
    json: Arc<[u8]>,
}

impl Snapshot {
    /// The book's JSON (the book file's form), stamped with its revision
    /// and the SHA3-256 of the JSON.
    pub fn of(book: &ClusterBook) -> Self {
        let json: Arc<[u8]> = book.to_json().into();
        let stamp = BookStamp {
            revision: book.revision(),
            digest: sha3_256(&json),
        };
        Self { stamp, json }
    }

    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// "Unchanged" when the asker holds this book, else the chunk at the
    /// offset it asks for.
    pub fn answer(&self, request: &BookSync) -> Result<BookSyncResponse, RetCodePacket> {
        let size = u32::try_from(self.json.len())
            .ok()
            .filter(|size| *size <= MAX_BOOK_SIZE)
            .ok_or_else(|| RetCodePacket::with_text(RetCode::Error, BOOK_TOO_LARGE))?;
        let chunk = match request.have == Some(self.stamp) {
            true => None,
            false => Some(self.chunk_at(request.offset)?),
        };
        Ok(BookSyncResponse {
            nonce: request.nonce,
            stamp: self.stamp,
            size,
            chunk,
        })
    }

    fn chunk_at(&self, offset: u32) -> Result<BookChunk, RetCodePacket> {
        let start = offset as usize;
        if start >= self.json.len() {
            return Err(RetCodePacket::with_text(RetCode::ArgIncorrect, BAD_OFFSET));
        }
        let end = self.json.len().min(start + MAX_BOOK_CHUNK);
        Ok(BookChunk {
            offset,
            bytes: self.json[start..end].to_vec(),
        })
    }

    /// [`Self::answer`] as a packet signed with `key` (the host's member
    /// key).
    pub fn signed_answer(
        &self,
        request: &BookSync,
        key: &SigningKey,
    ) -> Result<Vec<u8>, RetCodePacket> {
        let response = self.answer(request)?;
        let not_signed = || RetCodePacket::with_text(RetCode::Error, NOT_SIGNED);
        let unsigned = response.to_packet().map_err(|_| not_signed())?.finish();
        sign_packet(&unsigned, CLUSTER_SIGN_CODE, key).map_err(|_| not_signed())
    }
}

/// What an operator does after a reply.
#[derive(Debug)]
pub enum Pulled {
    /// Send this BOOK_SYNC next (the next chunk, or the first again).
    Ask(BookSync),
    /// The host's book is the one held.
    Unchanged,
    /// The host's whole book, checked against its digest.
    Book(BookStamp, Box<ClusterBook>),
}

/// One pull of the host's book by an operator.
#[derive(Debug)]
pub struct Puller {
    host: Hash32,
    held: Option<BookStamp>,
    nonce: [u8; BOOK_NONCE_SIZE],
    partial: Option<Partial>,
    restarts: u32,
}

#[derive(Debug)]
struct Partial {
    stamp: BookStamp,
    size: u32,
    bytes: Vec<u8>,
}

impl Puller {
    /// A pull from the host `host` (its member id), by an operator that
    /// holds `held`; `nonce` must be fresh (random) for every pull.
    pub fn new(host: Hash32, held: Option<BookStamp>, nonce: [u8; BOOK_NONCE_SIZE]) -> Self {
        Self {
            host,
            held,
            nonce,
            partial: None,
            restarts: 0,
        }
    }

    /// The first request.
    pub fn first(&self) -> BookSync {
        self.ask(0)
    }

    fn ask(&self, offset: u32) -> BookSync {
        BookSync {
            nonce: self.nonce,
            have: self.held,
            offset,
        }
    }

    /// Takes the bytes of one BOOK_SYNC_RESPONSE. The host's signature is
    /// checked before anything in it is believed.
    pub fn on_reply(&mut self, packet: &[u8]) -> Result<Pulled> {
        verify_packet(packet, CLUSTER_SIGN_CODE, Some(&self.host)).map_err(|err| match err {
            SignCheckError::Alien { signer, .. } => ClusterError::NotTheHost {
                signer,
                host: self.host,
            },
            _ => ClusterError::BadSignature(self.host),
        })?;
        let reply = ControlPacket::<ClusterType>::decode(packet)
            .and_then(|packet| BookSyncResponse::from_packet(&packet))
            .map_err(|_| ClusterError::BookSync("a malformed BOOK_SYNC_RESPONSE"))?;
        if reply.nonce != self.nonce {
            return Err(ClusterError::BookSync("a reply to another request"));
        }
        let Some(chunk) = reply.chunk else {
            return match self.held == Some(reply.stamp) {
                true => Ok(Pulled::Unchanged),
                false => Err(ClusterError::BookSync("unchanged, but not the book held")),
            };
        };
        self.take_chunk(reply.stamp, reply.size, chunk)
    }

    fn take_chunk(&mut self, stamp: BookStamp, size: u32, chunk: BookChunk) -> Result<Pulled> {
        let same = |p: &Partial| p.stamp == stamp && p.size == size;
        if !self.partial.as_ref().is_some_and(same) {
            self.partial = None;
            if chunk.offset != 0 {
                // The host's book changed under the transfer: start again.
                self.restarts += 1;
                if self.restarts > MAX_RESTARTS {
                    return Err(ClusterError::BookSync("the host's book kept changing"));
                }
                return Ok(Pulled::Ask(self.ask(0)));
            }
        }
        let partial = self.partial.get_or_insert(Partial {
            stamp,
            size,
            bytes: Vec::new(),
        });
        if chunk.offset as usize != partial.bytes.len() {
            return Err(ClusterError::BookSync("a chunk out of order"));
        }
        partial.bytes.extend_from_slice(&chunk.bytes);
        let have = partial.bytes.len();
        if have < size as usize {
            // `have` < `size` ≤ MAX_BOOK_SIZE: it fits a u32.
            return Ok(Pulled::Ask(self.ask(have as u32)));
        }
        let Some(Partial { bytes, .. }) = self.partial.take() else {
            return Err(ClusterError::BookSync("a chunk out of order"));
        };
        if sha3_256(&bytes) != stamp.digest {
            return Err(ClusterError::BookSync("the book does not match its digest"));
        }
        let book = ClusterBook::from_json(&bytes)?;
        Ok(Pulled::Book(stamp, Box::new(book)))
    }
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
