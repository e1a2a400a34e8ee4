//! Just enough HTTP/1.1 for the bench: a streaming GET (HTTP-FLV) and a
//! kept-alive connection for series of small GETs (LL-HLS playlists and
//! parts), with chunked and `Content-Length` bodies. A general client
//! would cost more per viewer than the server does.

use super::url::HttpUrl;
use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Most bytes of a response head.
const MAX_HEAD: usize = 16 * 1024;

/// A streaming response whose head has been read.
pub struct Response {
    pub stream: TcpStream,
    pub body: BodyDecoder,
    /// Body bytes that arrived with the head.
    pub leftover: Vec<u8>,
}

/// Sends `GET` and reads the response head; a status other than 200 is an
/// error naming it.
pub async fn get(url: &HttpUrl, buf: &mut [u8]) -> Result<Response> {
    let mut stream = connect(&url.authority).await?;
    let (head, leftover) = request(&mut stream, &url.authority, &url.path, buf).await?;
    Ok(Response {
        stream,
        body: head.body,
        leftover,
    })
}

async fn connect(authority: &str) -> Result<TcpStream> {
    let stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("cannot connect to {authority}"))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Writes a GET and reads the head; returns it and the body bytes that
/// came with it.
async fn request(
    stream: &mut TcpStream,
    authority: &str,
    path: &str,
    buf: &mut [u8],
) -> Result<(Head, Vec<u8>)> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: avrs-bench\r\nAccept: */*\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let end = loop {
        let n = stream.read(buf).await?;
        if n == 0 {
            bail!("the server closed the connection before the response head");
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(pos) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        if head.len() > MAX_HEAD {
            bail!("response head over {MAX_HEAD} bytes");
        }
    };
    let parsed = parse_head(&head[..end])?;
    Ok((parsed, head[end..].to_vec()))
}

/// A kept-alive connection for a series of GETs.
pub struct Connection {
    authority: String,
    stream: Option<TcpStream>,
}

impl Connection {
    pub fn new(authority: &str) -> Self {
        Self {
            authority: authority.to_owned(),
            stream: None,
        }
    }

    /// GETs `path` into `body` (cleared first); `on_bytes` learns how many
    /// bytes came off the socket. A connection the server closed while
    /// idle is opened again, once.
    pub async fn fetch(
        &mut self,
        path: &str,
        buf: &mut [u8],
        body: &mut Vec<u8>,
        on_bytes: &mut impl FnMut(usize),
    ) -> Result<()> {
        let reused = self.stream.is_some();
        let mut result = self.try_fetch(path, buf, body, on_bytes).await;
        if result.is_err() && reused {
            result = self.try_fetch(path, buf, body, on_bytes).await;
        }
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn try_fetch(
        &mut self,
        path: &str,
        buf: &mut [u8],
        body: &mut Vec<u8>,
        on_bytes: &mut impl FnMut(usize),
    ) -> Result<()> {
        body.clear();
        let mut stream = match self.stream.take() {
            Some(stream) => stream,
            None => connect(&self.authority).await?,
        };
        let (head, leftover) = request(&mut stream, &self.authority, path, buf).await?;
        let mut decoder = head.body;
        on_bytes(leftover.len());
        let mut done = decoder.decode(&leftover, |b| body.extend_from_slice(b))?;
        while !done {
            let n = stream.read(buf).await?;
            if n == 0 {
                if matches!(decoder, BodyDecoder::Identity) {
                    return Ok(()); // the body was the rest of the connection
                }
                bail!("the server closed the connection inside a response");
            }
            on_bytes(n);
            done = decoder.decode(&buf[..n], |b| body.extend_from_slice(b))?;
        }
        if !head.close {
            self.stream = Some(stream);
        }
        Ok(())
    }
}

/// What a response head says about its body.
struct Head {
    body: BodyDecoder,
    /// The server will close the connection after this response.
    close: bool,
}

/// Checks the status and picks the body decoder.
fn parse_head(head: &[u8]) -> Result<Head> {
    let text = std::str::from_utf8(head).context("response head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    if status != "200" {
        bail!("HTTP status: {status_line}");
    }
    let mut body = BodyDecoder::Identity;
    let mut close = status_line.starts_with("HTTP/1.0");
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim().to_ascii_lowercase());
        if name.eq_ignore_ascii_case("transfer-encoding") && value.contains("chunked") {
            body = BodyDecoder::Chunked(Chunked::Size {
                value: 0,
                digits: false,
                extension: false,
            });
        } else if name.eq_ignore_ascii_case("content-length")
            && matches!(body, BodyDecoder::Identity)
        {
            body = BodyDecoder::Length(value.parse().context("bad Content-Length")?);
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.contains("close");
        }
    }
    Ok(Head { body, close })
}

/// Turns received bytes into body bytes.
pub enum BodyDecoder {
    /// The body is the rest of the connection.
    Identity,
    /// Bytes of a `Content-Length` body still to come.
    Length(u64),
    Chunked(Chunked),
}

/// Where the chunked decoder is.
pub enum Chunked {
    /// Reading a hex chunk size, then any `;extension`, up to `\n`.
    Size {
        value: u64,
        digits: bool,
        extension: bool,
    },
    /// Bytes of chunk data still to come.
    Data(u64),
    /// The CRLF after chunk data: bytes of it still to skip.
    DataEnd(u8),
    /// The last (zero-size) chunk was read: the body is over.
    Done,
}

impl BodyDecoder {
    /// Passes the body bytes in `input` to `sink`, without copying. Returns
    /// true once the body has ended.
    pub fn decode(&mut self, mut input: &[u8], mut sink: impl FnMut(&[u8])) -> Result<bool> {
        let state = match self {
            Self::Identity => {
                sink(input);
                return Ok(false);
            }
            Self::Length(remaining) => {
                let n = take(input, *remaining);
                sink(&input[..n]);
                *remaining -= n as u64;
                return Ok(*remaining == 0);
            }
            Self::Chunked(state) => state,
        };
        while let Some(&byte) = input.first() {
            match state {
                Chunked::Size {
                    value,
                    digits,
                    extension,
                } => {
                    input = &input[1..];
                    match byte {
                        b'\n' if *digits => {
                            *state = match *value {
                                0 => Chunked::Done,
                                size => Chunked::Data(size),
                            }
                        }
                        b'\n' => bail!("chunked body: empty chunk size"),
                        b'\r' => {}
                        _ if *extension => {}
                        b';' | b' ' | b'\t' => *extension = true,
                        _ => {
                            let digit = char::from(byte)
                                .to_digit(16)
                                .context("chunked body: bad chunk size")?;
                            *value = value
                                .checked_mul(16)
                                .map(|v| v + u64::from(digit))
                                .context("chunked body: chunk size overflows")?;
                            *digits = true;
                        }
                    }
                }
                Chunked::Data(remaining) => {
                    let n = take(input, *remaining);
                    sink(&input[..n]);
                    input = &input[n..];
                    *remaining -= n as u64;
                    if *remaining == 0 {
                        *state = Chunked::DataEnd(2);
                    }
                }
                Chunked::DataEnd(left) => {
                    input = &input[1..];
                    *left -= 1;
                    if *left == 0 {
                        *state = Chunked::Size {
                            value: 0,
                            digits: false,
                            extension: false,
                        };
                    }
                }
                // Trailers after the last chunk are ignored.
                Chunked::Done => return Ok(true),
            }
        }
        Ok(matches!(state, Chunked::Done))
    }
}

/// How many of `input`'s bytes fit in `remaining`.
fn take(input: &[u8], remaining: u64) -> usize {
    input
        .len()
        .min(usize::try_from(remaining).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(decoder: &mut BodyDecoder, pieces: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut body = Vec::new();
        let mut done = false;
        for piece in pieces {
            done = decoder
                .decode(piece, |b| body.extend_from_slice(b))
                .unwrap();
        }
        (body, done)
    }

    #[test]
    fn chunked_bodies_split_anywhere() {
        let wire: &[u8] = b"5;name=x\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n";
        for split in 0..wire.len() {
            let head = parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            let mut decoder = head.unwrap().body;
            let (body, done) = decode_all(&mut decoder, &[&wire[..split], &wire[split..]]);
            assert_eq!(body, b"hello0123456789", "split at {split}");
            assert!(done);
        }
    }

    #[test]
    fn identity_and_length_bodies_and_statuses() {
        let head = parse_head(b"HTTP/1.0 200 OK\r\nContent-Type: video/x-flv\r\n\r\n")
            .expect("200 without chunking");
        assert!(head.close, "HTTP/1.0 closes");
        let mut decoder = head.body;
        let expected = (b"FLV\x01".to_vec(), false);
        assert_eq!(decode_all(&mut decoder, &[b"FLV", b"\x01"]), expected);

        let head = parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n").unwrap();
        assert!(!head.close);
        let mut decoder = head.body;
        let expected = (b"abcde".to_vec(), true);
        assert_eq!(decode_all(&mut decoder, &[b"ab", b"cde"]), expected);

        let head = parse_head(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").unwrap();
        assert!(head.close);

        let err = parse_head(b"HTTP/1.1 404 Not Found\r\n\r\n").err().unwrap();
        assert_eq!(err.to_string(), "HTTP status: HTTP/1.1 404 Not Found");
    }

    #[test]
    fn bad_chunk_sizes_are_errors() {
        let mut decoder = BodyDecoder::Chunked(Chunked::Size {
            value: 0,
            digits: false,
            extension: false,
        });
        assert!(decoder.decode(b"zz\r\n", |_| {}).is_err());
    }
}
