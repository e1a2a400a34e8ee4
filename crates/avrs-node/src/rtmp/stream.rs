//! The byte stream of an RTMP connection: plain TCP (RTMP) or TLS over TCP
//! (RTMPS). The session code is the same for both; plain TCP keeps its
//! borrowed split halves and `try_write_vectored` with no extra cost.
//!
//! TLS writes report bytes only once they reached the socket: rustls keeps
//! encrypted records in its own buffer, so a write that returned as soon as
//! rustls took the plaintext would let the viewer believe its queue was
//! sent while records still waited, with no stall timer running. Callers
//! must retry a write that returned `Pending` (or `WouldBlock`) with the
//! same leading bytes, as [`super::output::OutQueue`] and `write_all` do.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, tcp};
use tokio_rustls::server::TlsStream;

/// An accepted RTMP or RTMPS connection.
pub enum RtmpStream {
    Tcp(TcpStream),
    Tls(Box<TlsConn>),
}

impl From<TcpStream> for RtmpStream {
    fn from(stream: TcpStream) -> Self {
        Self::Tcp(stream)
    }
}

impl From<TlsStream<TcpStream>> for RtmpStream {
    fn from(stream: TlsStream<TcpStream>) -> Self {
        Self::Tls(Box::new(TlsConn {
            inner: stream,
            unreported: 0,
        }))
    }
}

impl RtmpStream {
    /// The TCP socket underneath (socket options).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Tcp(stream) => stream,
            Self::Tls(conn) => conn.inner.get_ref().0,
        }
    }

    /// Halves that read and write at the same time.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        match self {
            Self::Tcp(stream) => {
                let (read, write) = stream.split();
                (ReadHalf::Tcp(read), WriteHalf::Tcp(write))
            }
            Self::Tls(conn) => {
                let (read, write) = tokio::io::split(&mut **conn);
                (ReadHalf::Tls(read), WriteHalf::Tls(write))
            }
        }
    }
}

/// A TLS connection whose writes count as done once flushed to the socket.
pub struct TlsConn {
    inner: TlsStream<TcpStream>,
    /// Plaintext rustls took whose records are not all on the socket yet.
    unreported: usize,
}

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.unreported == 0 {
            let taken = ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
            if taken == 0 {
                return Poll::Ready(Ok(0));
            }
            this.unreported = taken;
        }
        ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
        Poll::Ready(Ok(std::mem::take(&mut this.unreported)))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

pub enum ReadHalf<'a> {
    Tcp(tcp::ReadHalf<'a>),
    Tls(tokio::io::ReadHalf<&'a mut TlsConn>),
}

pub enum WriteHalf<'a> {
    Tcp(tcp::WriteHalf<'a>),
    Tls(tokio::io::WriteHalf<&'a mut TlsConn>),
}

impl WriteHalf<'_> {
    /// Writes what can be written now, or fails with `WouldBlock`.
    pub fn try_write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Tcp(half) => half.as_ref().try_write_vectored(bufs),
            Self::Tls(half) => {
                // Polled once without a task to wake: `Pending` means the
                // socket is full, and the caller's next (async) write
                // registers the real waker.
                let mut cx = Context::from_waker(Waker::noop());
                match Pin::new(half).poll_write_vectored(&mut cx, bufs) {
                    Poll::Ready(result) => result,
                    Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
                }
            }
        }
    }
}

macro_rules! delegate_read {
    ($($ty:ty),*) => {$(
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    Self::Tcp(s) => Pin::new(s).poll_read(cx, buf),
                    Self::Tls(s) => Pin::new(s).poll_read(cx, buf),
                }
            }
        }
    )*};
}

macro_rules! delegate_write {
    ($($ty:ty),*) => {$(
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    Self::Tcp(s) => Pin::new(s).poll_write(cx, buf),
                    Self::Tls(s) => Pin::new(s).poll_write(cx, buf),
                }
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    Self::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
                    Self::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
                }
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    Self::Tcp(s) => Pin::new(s).poll_flush(cx),
                    Self::Tls(s) => Pin::new(s).poll_flush(cx),
                }
            }

            fn poll_shutdown(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    Self::Tcp(s) => Pin::new(s).poll_shutdown(cx),
                    Self::Tls(s) => Pin::new(s).poll_shutdown(cx),
                }
            }
        }
    )*};
}

delegate_read!(RtmpStream, ReadHalf<'_>);
delegate_write!(RtmpStream, WriteHalf<'_>);
