//! The stream decoder: takes bytes in any chunking, yields events.
//!
//! It resynchronises on [`SIGNATURE`] (bytes before it are skipped and
//! counted), drops a bad header by skipping its 37 bytes, waits on a partial
//! packet, opens sealed payloads through the [`PayloadCipher`], reassembles
//! fragments and checks `seq_id` order. Memory stays bounded: it buffers at
//! most [`MAX_BUFFERED`] bytes, and [`StreamReader::push`] takes only what
//! fits (after [`StreamReader::poll`] has drained, there is always room).

use bytes::{Buf, Bytes, BytesMut};

use super::{
    ChannelPacket, MAX_BUFFERED, PacketContext, PacketType, PayloadCipher, Plaintext, Reassembler,
    SIGNATURE, STREAM_HEADER_SIZE, SeqTracker, SeqVerdict, ServiceBody, StreamHeader,
};
use crate::error::{ProtoError, Result};

/// What one decoded stream packet means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A channel packet, from a `DATA` packet or a completed reassembly.
    Channel {
        packet: ChannelPacket,
        /// Seq ids skipped just before this one (packet loss), 0 in order.
        lost: u64,
    },
    /// The peer asks whether we are alive: answer with an `ALIVE`.
    Keepalive,
    /// The peer answers our keepalive.
    Alive,
    /// A plaintext session attachment.
    Service(ServiceBody),
}

/// Counters of one reader, for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderStats {
    /// Bytes taken by [`StreamReader::push`].
    pub bytes: u64,
    /// Whole stream packets with a valid header.
    pub packets: u64,
    /// Channel packets delivered.
    pub channel_packets: u64,
    /// Bytes skipped while looking for a signature.
    pub resync_skipped: u64,
    /// Headers dropped because `size` was over the cap.
    pub oversize_drops: u64,
    /// Headers dropped for another reason (unknown type, wrong fixed size).
    pub bad_headers: u64,
    /// Payloads that did not open or held a malformed channel packet.
    pub bad_payloads: u64,
    /// Channel packets dropped because their `seq_id` was not new.
    pub replays: u64,
    /// Channel packets that came after a jump in `seq_id`.
    pub gaps: u64,
    /// Seq ids skipped in all those jumps.
    pub lost_seq_ids: u64,
    /// Fragments that broke a reassembly.
    pub reassembly_errors: u64,
}

/// Decodes one direction of a stream.
#[derive(Debug)]
pub struct StreamReader<C = Plaintext> {
    cipher: C,
    buf: BytesMut,
    reassembler: Reassembler,
    seq: SeqTracker,
    /// Sealed packets accepted so far: the next [`PacketContext::packet_index`].
    sealed_packets: u64,
    stats: ReaderStats,
}

impl Default for StreamReader<Plaintext> {
    fn default() -> Self {
        Self::new(Plaintext)
    }
}

impl<C: PayloadCipher> StreamReader<C> {
    pub fn new(cipher: C) -> Self {
        Self {
            cipher,
            buf: BytesMut::new(),
            reassembler: Reassembler::new(),
            seq: SeqTracker::new(),
            sealed_packets: 0,
            stats: ReaderStats::default(),
        }
    }

    /// Appends as much of `bytes` as fits and returns how much that was.
    /// When it is less than `bytes.len()`, drain [`Self::poll`] and push the
    /// rest.
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        let taken = bytes.len().min(self.room());
        self.buf.extend_from_slice(&bytes[..taken]);
        self.stats.bytes += taken as u64;
        taken
    }

    /// Bytes [`Self::push`] would take now.
    pub fn room(&self) -> usize {
        MAX_BUFFERED - self.buf.len()
    }

    /// Bytes held and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    pub fn stats(&self) -> &ReaderStats {
        &self.stats
    }

    /// The next event, an error for something dropped, or `None` when more
    /// bytes are needed. Errors are not fatal: polling again continues.
    pub fn poll(&mut self) -> Option<Result<Event>> {
        loop {
            self.skip_to_signature();
            let header = match StreamHeader::decode(&self.buf) {
                Ok(header) => header,
                Err(ProtoError::Incomplete { .. }) => return None,
                Err(e) => return Some(Err(self.drop_header(e))),
            };
            let frame_len = STREAM_HEADER_SIZE + header.payload_len();
            if self.buf.len() < frame_len {
                return None;
            }
            let mut payload = self.buf.split_to(frame_len);
            let raw: [u8; STREAM_HEADER_SIZE] = payload[..STREAM_HEADER_SIZE]
                .try_into()
                .expect("frame holds a header");
            payload.advance(STREAM_HEADER_SIZE);
            self.stats.packets += 1;
            // A fragment that does not complete a packet yields nothing.
            if let Some(outcome) = self.on_packet(header, &raw, payload).transpose() {
                return Some(outcome);
            }
        }
    }

    /// Leaves the buffer starting with the signature, or holding only a
    /// tail that may be its beginning.
    fn skip_to_signature(&mut self) {
        let skip = match self
            .buf
            .windows(SIGNATURE.len())
            .position(|w| w == SIGNATURE)
        {
            Some(at) => at,
            None => self.buf.len() - signature_prefix_at_end(&self.buf),
        };
        if skip > 0 {
            self.buf.advance(skip);
            self.stats.resync_skipped += skip as u64;
        }
    }

    /// Skips the 37 bytes of a header that cannot be used.
    fn drop_header(&mut self, error: ProtoError) -> ProtoError {
        match error {
            ProtoError::TooLarge { .. } => self.stats.oversize_drops += 1,
            _ => self.stats.bad_headers += 1,
        }
        self.buf.advance(STREAM_HEADER_SIZE);
        error
    }

    fn on_packet(
        &mut self,
        header: StreamHeader,
        raw: &[u8; STREAM_HEADER_SIZE],
        payload: BytesMut,
    ) -> Result<Option<Event>> {
        match header.packet_type {
            PacketType::Keepalive => Ok(Some(Event::Keepalive)),
            PacketType::Alive => Ok(Some(Event::Alive)),
            // The header check already pinned the size to 9 bytes.
            PacketType::Service => ServiceBody::decode(&payload).map(|b| Some(Event::Service(b))),
            PacketType::Data => {
                let plaintext = self.open(raw, payload)?;
                self.deliver(plaintext.freeze()).map(Some)
            }
            PacketType::Fragment => self.on_fragment(raw, payload),
        }
    }

    fn on_fragment(
        &mut self,
        raw: &[u8; STREAM_HEADER_SIZE],
        payload: BytesMut,
    ) -> Result<Option<Event>> {
        let plaintext = self.open(raw, payload)?;
        match self.reassembler.push(&plaintext) {
            Ok(None) => Ok(None),
            Ok(Some(whole)) => self.deliver(whole).map(Some),
            Err(e) => {
                self.stats.reassembly_errors += 1;
                Err(e)
            }
        }
    }

    fn open(&mut self, raw: &[u8; STREAM_HEADER_SIZE], mut payload: BytesMut) -> Result<BytesMut> {
        let ctx = PacketContext {
            header: raw,
            packet_index: self.sealed_packets,
        };
        self.sealed_packets += 1;
        self.cipher
            .open(&ctx, &mut payload)
            .inspect_err(|_| self.stats.bad_payloads += 1)?;
        Ok(payload)
    }

    /// Decodes a channel packet and applies the `seq_id` rule.
    fn deliver(&mut self, plaintext: Bytes) -> Result<Event> {
        let packet =
            ChannelPacket::decode(plaintext).inspect_err(|_| self.stats.bad_payloads += 1)?;
        let seq_id = packet.header.seq_id;
        match self.seq.check(seq_id) {
            SeqVerdict::Replay { last } => {
                self.stats.replays += 1;
                Err(ProtoError::Replay { seq_id, last })
            }
            SeqVerdict::Accept { lost } => {
                if lost > 0 {
                    self.stats.gaps += 1;
                    self.stats.lost_seq_ids += lost;
                }
                self.stats.channel_packets += 1;
                Ok(Event::Channel { packet, lost })
            }
        }
    }
}

/// Length of the longest tail of `buf` that is a proper prefix of the
/// signature: those bytes must be kept in case the rest follows.
fn signature_prefix_at_end(buf: &[u8]) -> usize {
    (1..SIGNATURE.len())
        .rev()
        .find(|&k| buf.ends_with(&SIGNATURE[..k]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_that_may_start_a_signature_is_kept() {
        assert_eq!(signature_prefix_at_end(&[1, 2, 0xA0]), 1);
        assert_eq!(signature_prefix_at_end(&[1, 0xA0, 0x95, 0x96]), 3);
        assert_eq!(signature_prefix_at_end(&SIGNATURE[..7]), 7);
        assert_eq!(signature_prefix_at_end(&[0xA0, 0x95, 0x00]), 0);
        assert_eq!(signature_prefix_at_end(&[]), 0);
    }
}
