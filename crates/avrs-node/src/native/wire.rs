//! Reading and writing channel messages on QUIC streams: the thin I/O
//! around `avrs_proto::avrs::quic`.

use avrs_proto::ProtoError;
use avrs_proto::avrs::SubType;
use avrs_proto::avrs::quic::{self, SeqCounter, StreamKind};
use avrs_proto::dap::{CHANNEL_HEADER_SIZE, ChannelHeader};
use bytes::Bytes;
use quinn::{ReadExactError, RecvStream, SendStream};
use tokio::sync::mpsc;

/// One message read from a stream.
#[derive(Debug, Clone)]
pub struct Message {
    pub header: ChannelHeader,
    pub subtype: SubType,
    pub data: Bytes,
}

/// Why reading a message failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The bytes make no valid message: the stream cannot be trusted.
    #[error("bad message: {0}")]
    Framing(#[from] ProtoError),
    /// The stream ended inside a message.
    #[error("stream ended inside a message")]
    Truncated,
    /// The peer reset the stream (a dropped group) with this code.
    #[error("stream reset by the peer (code {0})")]
    Reset(u64),
    /// The connection is gone.
    #[error("connection lost: {0}")]
    Connection(quinn::ConnectionError),
    #[error("stream closed: {0}")]
    Closed(String),
}

impl From<quinn::ReadError> for ReadError {
    fn from(err: quinn::ReadError) -> Self {
        match err {
            quinn::ReadError::Reset(code) => ReadError::Reset(code.into_inner()),
            quinn::ReadError::ConnectionLost(e) => ReadError::Connection(e),
            other => ReadError::Closed(other.to_string()),
        }
    }
}

/// Reads the next message of a stream of `kind`; `None` when the stream
/// ends cleanly between messages.
pub async fn read_message(
    recv: &mut RecvStream,
    kind: StreamKind,
) -> Result<Option<Message>, ReadError> {
    let mut head = [0u8; CHANNEL_HEADER_SIZE];
    match recv.read_exact(&mut head).await {
        Ok(()) => {}
        Err(ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(ReadExactError::FinishedEarly(_)) => return Err(ReadError::Truncated),
        Err(ReadExactError::ReadError(e)) => return Err(e.into()),
    }
    let header = quic::check_header(&head, kind)?;
    let subtype = SubType::from_code(header.subtype)?;
    let mut data = vec![0u8; header.data_size as usize];
    match recv.read_exact(&mut data).await {
        Ok(()) => {}
        Err(ReadExactError::FinishedEarly(_)) => return Err(ReadError::Truncated),
        Err(ReadExactError::ReadError(e)) => return Err(e.into()),
    }
    Ok(Some(Message {
        header,
        subtype,
        data: Bytes::from(data),
    }))
}

/// The sending half of a control stream, numbering its messages.
#[derive(Debug)]
pub struct ControlWriter {
    send: SendStream,
    seq: SeqCounter,
}

impl ControlWriter {
    pub fn new(send: SendStream) -> Self {
        Self {
            send,
            seq: SeqCounter::default(),
        }
    }

    /// Writes one message.
    pub async fn write(&mut self, subtype: SubType, data: &[u8]) -> Result<(), quinn::WriteError> {
        let message = quic::encode_message(subtype, self.seq.next_id(), data);
        self.send.write_chunk(Bytes::from(message)).await
    }

    /// Writes bytes as they are (tests send garbage with it).
    pub async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), quinn::WriteError> {
        self.send.write_all(bytes).await
    }

    /// Finishes the stream and waits (at most `limit`) until the peer has
    /// received everything, so a last reply is not lost to a close.
    pub async fn finish(&mut self, limit: std::time::Duration) {
        if self.send.finish().is_ok() {
            let _ = tokio::time::timeout(limit, self.send.stopped()).await;
        }
    }
}

/// Reads the messages of a control stream, cancel-safe: the bytes of a
/// message read so far stay here until the rest comes, so a `select!` loop
/// can poll it without a task and a channel per connection (the server's
/// case, where those cost ~3 KiB per viewer).
#[derive(Debug)]
pub struct ControlReader {
    recv: RecvStream,
    head: [u8; CHANNEL_HEADER_SIZE],
    head_len: usize,
    body: Option<PartialMessage>,
    /// The stream ended or broke: every further read is the end.
    done: bool,
}

/// A message whose header is in and whose data is coming.
#[derive(Debug)]
struct PartialMessage {
    header: ChannelHeader,
    subtype: SubType,
    data: Vec<u8>,
    filled: usize,
}

impl ControlReader {
    pub fn new(recv: RecvStream) -> Self {
        Self {
            recv,
            head: [0; CHANNEL_HEADER_SIZE],
            head_len: 0,
            body: None,
            done: false,
        }
    }

    /// The next message; `None` once the stream has ended (cleanly between
    /// messages, or after an error returned before).
    pub async fn next(&mut self) -> Result<Option<Message>, ReadError> {
        if self.done {
            return Ok(None);
        }
        let message = self.read_next().await;
        self.done = !matches!(message, Ok(Some(_)));
        message
    }

    /// Every await is a cancel-safe `read` whose bytes are kept at once.
    async fn read_next(&mut self) -> Result<Option<Message>, ReadError> {
        loop {
            if let Some(body) = &mut self.body {
                if body.filled == body.data.len() {
                    return Ok(self.body.take().map(PartialMessage::into_message));
                }
                match self.recv.read(&mut body.data[body.filled..]).await? {
                    Some(n) => body.filled += n,
                    None => return Err(ReadError::Truncated),
                }
            } else if self.head_len == CHANNEL_HEADER_SIZE {
                self.head_len = 0;
                self.body = Some(PartialMessage::start(&self.head)?);
            } else {
                match self.recv.read(&mut self.head[self.head_len..]).await? {
                    Some(n) => self.head_len += n,
                    None if self.head_len == 0 => return Ok(None),
                    None => return Err(ReadError::Truncated),
                }
            }
        }
    }
}

impl PartialMessage {
    /// Checks a control message's header and makes room for its data.
    fn start(head: &[u8; CHANNEL_HEADER_SIZE]) -> Result<Self, ProtoError> {
        let header = quic::check_header(head, StreamKind::Control)?;
        let subtype = SubType::from_code(header.subtype)?;
        Ok(Self {
            header,
            subtype,
            data: vec![0u8; header.data_size as usize],
            filled: 0,
        })
    }

    fn into_message(self) -> Message {
        Message {
            header: self.header,
            subtype: self.subtype,
            data: Bytes::from(self.data),
        }
    }
}

/// Reads control messages in their own task, for a caller that wants
/// them from a channel (the client).
pub fn spawn_control_reader(recv: RecvStream) -> mpsc::Receiver<Result<Message, ReadError>> {
    let (tx, rx) = mpsc::channel(8);
    let mut reader = ControlReader::new(recv);
    tokio::spawn(async move {
        loop {
            let item = match reader.next().await {
                Ok(Some(message)) => Ok(message),
                Ok(None) => break,
                Err(err) => Err(err),
            };
            if tx.send(item).await.is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests;
