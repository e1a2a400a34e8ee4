//! The bytes waiting for a connection's socket, written vectored.

use super::error::ConnError;
use super::stream::WriteHalf;
use bytes::{Buf, Bytes};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::time::Duration;
use tokio::io::AsyncWrite;

/// Buffers handed to one `writev` (Linux allows 1024; a wake-up rarely has
/// more than a few dozen messages ready).
const MAX_IOV: usize = 128;

/// Whole messages queued for the socket, each a shared [`Bytes`] (media
/// messages are the same buffers every viewer sends).
#[derive(Debug, Default)]
pub struct OutQueue {
    bufs: VecDeque<Bytes>,
}

impl OutQueue {
    pub fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.bufs.push_back(bytes);
        }
    }

    pub fn push_vec(&mut self, bytes: Vec<u8>) {
        self.push(Bytes::from(bytes));
    }

    pub fn is_empty(&self) -> bool {
        self.bufs.is_empty()
    }

    /// One vectored write of as much as is queued. Cancel-safe: a write
    /// that did not complete wrote nothing.
    pub async fn write_some<W: AsyncWrite + Unpin>(&mut self, writer: &mut W) -> io::Result<usize> {
        let bufs = &self.bufs;
        let written = poll_fn(|cx| {
            // The slices live on the stack of each poll, not in the future.
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let count = slices(bufs, &mut iov);
            Pin::new(&mut *writer).poll_write_vectored(cx, &iov[..count])
        })
        .await?;
        self.written(written)
    }

    /// One vectored write of as much as is queued, now: `WouldBlock` when
    /// the socket's buffer is full. A viewer's socket nearly always has room,
    /// so writing straight after queueing, without a `select!` or a stall
    /// timer, is the path each message takes.
    pub fn try_write(&mut self, writer: &mut WriteHalf<'_>) -> io::Result<usize> {
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let count = slices(&self.bufs, &mut iov);
        let written = writer.try_write_vectored(&iov[..count])?;
        self.written(written)
    }

    fn written(&mut self, written: usize) -> io::Result<usize> {
        if written == 0 && !self.is_empty() {
            return Err(io::ErrorKind::WriteZero.into());
        }
        self.advance(written);
        Ok(written)
    }

    /// Writes everything, failing when the peer takes nothing for `stall`.
    pub async fn flush<W: AsyncWrite + Unpin>(
        &mut self,
        writer: &mut W,
        stall: Duration,
    ) -> Result<usize, ConnError> {
        let mut total = 0;
        while !self.is_empty() {
            total += tokio::time::timeout(stall, self.write_some(writer))
                .await
                .map_err(|_| ConnError::Timeout("peer stopped reading"))??;
        }
        Ok(total)
    }

    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.bufs.front_mut() else {
                return;
            };
            if n >= front.len() {
                n -= front.len();
                self.bufs.pop_front();
            } else {
                front.advance(n);
                n = 0;
            }
        }
    }
}

/// Points `iov` at the first queued buffers; returns how many.
fn slices<'a>(bufs: &'a VecDeque<Bytes>, iov: &mut [IoSlice<'a>]) -> usize {
    let mut count = 0;
    for (slot, buf) in iov.iter_mut().zip(bufs.iter()) {
        *slot = IoSlice::new(buf);
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_everything_in_order_across_partial_writes() {
        // A duplex pipe with a tiny buffer forces partial writes.
        let (mut a, mut b) = tokio::io::duplex(7);
        let mut queue = OutQueue::default();
        for i in 0..100u8 {
            queue.push(Bytes::from(vec![i; usize::from(i % 5) + 1]));
        }
        queue.push(Bytes::new());
        let expected: Vec<u8> = (0..100u8)
            .flat_map(|i| std::iter::repeat_n(i, usize::from(i % 5) + 1))
            .collect();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut b, &mut got)
                .await
                .unwrap();
            got
        });
        let written = queue.flush(&mut a, Duration::from_secs(5)).await.unwrap();
        drop(a);
        assert_eq!(written, expected.len());
        assert!(queue.is_empty());
        assert_eq!(reader.await.unwrap(), expected);
    }

    #[tokio::test]
    async fn flush_times_out_when_nobody_reads() {
        let (mut a, _b) = tokio::io::duplex(4);
        let mut queue = OutQueue::default();
        queue.push(Bytes::from_static(b"0123456789"));
        let err = queue
            .flush(&mut a, Duration::from_millis(20))
            .await
            .unwrap_err();
        assert!(matches!(err, ConnError::Timeout(_)));
    }
}
