//! A watchman in front of rml_rtmp's chunk deserializer.
//!
//! rml_rtmp 0.8 trusts its input more than a public port allows: it reserves
//! a message's whole declared length up front, keeps a header per chunk
//! stream id without limit, subtracts unchecked on some extended timestamps
//! (a panic in debug builds), mixes up messages whose chunks interleave
//! across chunk streams (it keeps one partial message only), and parses AMF0
//! recursively with no depth limit (a stack overflow kills the process, not
//! just the connection). This guard follows the same chunk stream, byte for
//! byte and with the same rules, and refuses input that would reach any of
//! those before rml_rtmp sees it. It keeps a few dozen bytes of state, never
//! the media it passes.
//!
//! Real publishers (ffmpeg, OBS, GStreamer, hardware encoders) write each
//! message's chunks back to back, so refusing interleaving costs nothing in
//! practice and gives a clear error instead of corrupt frames.

use std::collections::HashMap;

/// Largest audio/video (and aggregate) message accepted: the FLV demuxer's
/// tag cap, far above any real frame.
pub const MAX_MEDIA_MESSAGE: u32 = avrs_media::flv::DEFAULT_MAX_TAG_SIZE as u32;
/// Largest command/data (AMF) message: `connect` and `onMetaData` are
/// a few hundred bytes.
pub const MAX_AMF_MESSAGE: u32 = 64 * 1024;
/// Largest protocol-control message (they are 4 to 10 bytes).
pub const MAX_CONTROL_MESSAGE: u32 = 64;
/// Distinct chunk stream ids a peer may use (publishers use 2 to 8).
pub const MAX_CHUNK_STREAMS: usize = 64;
/// Deepest AMF0 nesting of objects and arrays accepted.
pub const MAX_AMF_DEPTH: usize = 16;

const EXTENDED: u32 = 0xFF_FFFF;
/// The AMF0 string `@setDataFrame` (marker, length, text).
const SET_DATA_FRAME: &[u8] = b"\x02\x00\x0D@setDataFrame";
const MAX_CHUNK_SIZE: u32 = 0x7FFF_FFFF;

/// Why the inbound chunk stream was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("chunk on stream {csid} continues a message that was never started")]
    NoPreviousHeader { csid: u32 },
    #[error("chunk stream {csid} interleaved into a message on stream {partial}: not supported")]
    Interleaved { csid: u32, partial: u32 },
    #[error("message type {type_id} of {length} bytes exceeds the {max}-byte limit")]
    TooLong { type_id: u8, length: u32, max: u32 },
    #[error("more than {MAX_CHUNK_STREAMS} chunk streams")]
    TooManyStreams,
    #[error("extended timestamp delta {0} is below 0xFFFFFF")]
    BadExtendedTimestamp(u32),
    #[error("chunk size {0} is not in 1..=2147483647")]
    BadChunkSize(u32),
    #[error("window acknowledgement size {0} is too large")]
    BadWindowSize(u32),
    #[error("AMF0 values nested deeper than {MAX_AMF_DEPTH}")]
    AmfTooDeep,
    #[error("AMF0 {0} with too few values")]
    AmfTooShort(&'static str),
}

/// The last header seen on a chunk stream (what type 1-3 headers inherit).
#[derive(Debug, Clone, Copy)]
struct Previous {
    length: u32,
    type_id: u8,
    /// The 24-bit timestamp field as last sent; 0xFFFFFF means type-3
    /// chunks carry an extended timestamp too.
    timestamp_field: u32,
}

/// The message whose chunks are arriving.
#[derive(Debug)]
struct Partial {
    csid: u32,
    type_id: u8,
    left: u32,
    /// The payload, kept only for the small messages the guard must read.
    capture: Option<Vec<u8>>,
}

/// Follows an RTMP chunk stream (after the handshake) and refuses what
/// rml_rtmp would mishandle.
#[derive(Debug)]
pub struct InboundGuard {
    chunk_size: u32,
    streams: HashMap<u32, Previous>,
    partial: Option<Partial>,
    /// Bytes of the chunk header being read (at most 3 + 11 + 4).
    header: Vec<u8>,
    /// Payload bytes of the current chunk still to come; 0 while reading a
    /// header.
    chunk_left: u32,
}

impl Default for InboundGuard {
    fn default() -> Self {
        Self {
            chunk_size: 128,
            streams: HashMap::new(),
            partial: None,
            header: Vec::with_capacity(18),
            chunk_left: 0,
        }
    }
}

impl InboundGuard {
    /// Follows `input`, the next bytes from the peer. An error means the
    /// connection must close: the bytes must not reach rml_rtmp.
    pub fn check(&mut self, mut input: &[u8]) -> Result<(), GuardError> {
        while !input.is_empty() {
            if self.chunk_left == 0 {
                self.header.push(input[0]);
                input = &input[1..];
                self.try_header()?;
            } else {
                let take = input.len().min(self.chunk_left as usize);
                self.payload(&input[..take])?;
                input = &input[take..];
            }
        }
        Ok(())
    }

    /// Acts on the header bytes so far once they form a whole header.
    fn try_header(&mut self) -> Result<(), GuardError> {
        let h = &self.header;
        let fmt = h[0] >> 6;
        let (csid, basic_len) = match h[0] & 0x3F {
            0 if h.len() < 2 => return Ok(()),
            0 => (u32::from(h[1]) + 64, 2),
            1 if h.len() < 3 => return Ok(()),
            1 => (u32::from(h[1]) + u32::from(h[2]) * 256 + 64, 3),
            id => (u32::from(id), 1),
        };
        let previous = self.streams.get(&csid).copied();
        if fmt != 0 && previous.is_none() {
            return Err(GuardError::NoPreviousHeader { csid });
        }
        let message_header_len = [11, 7, 3, 0][usize::from(fmt)];
        let fixed_len = basic_len + message_header_len;
        if h.len() < fixed_len {
            return Ok(());
        }
        let m = &h[basic_len..];
        let timestamp_field = match (fmt, previous) {
            (3, Some(p)) => p.timestamp_field,
            _ => u24(&m[0..3]),
        };
        let extended = timestamp_field == EXTENDED;
        let full_len = fixed_len + if extended { 4 } else { 0 };
        if h.len() < full_len {
            return Ok(());
        }
        let (length, type_id) = match (fmt, previous) {
            (0 | 1, _) => (u24(&m[3..6]), m[6]),
            (_, Some(p)) => (p.length, p.type_id),
            (_, None) => return Err(GuardError::NoPreviousHeader { csid }),
        };
        let continuing = match &self.partial {
            Some(p) if p.csid == csid && fmt == 3 => true,
            Some(p) => {
                return Err(GuardError::Interleaved {
                    csid,
                    partial: p.csid,
                });
            }
            None => false,
        };
        if extended && fmt != 0 && !continuing {
            // rml_rtmp subtracts 0xFFFFFF from this value unchecked.
            let value = u32::from_be_bytes([
                h[fixed_len],
                h[fixed_len + 1],
                h[fixed_len + 2],
                h[fixed_len + 3],
            ]);
            if value < EXTENDED {
                return Err(GuardError::BadExtendedTimestamp(value));
            }
        }
        if previous.is_none() && self.streams.len() >= MAX_CHUNK_STREAMS {
            return Err(GuardError::TooManyStreams);
        }
        self.streams.insert(
            csid,
            Previous {
                length,
                type_id,
                timestamp_field,
            },
        );
        self.header.clear();
        if !continuing {
            let max = max_length(type_id);
            if length > max {
                return Err(GuardError::TooLong {
                    type_id,
                    length,
                    max,
                });
            }
            let capture = needs_capture(type_id).then(|| Vec::with_capacity(length as usize));
            self.partial = Some(Partial {
                csid,
                type_id,
                left: length,
                capture,
            });
        }
        let left = self.partial.as_ref().map_or(0, |p| p.left);
        self.chunk_left = left.min(self.chunk_size);
        if self.chunk_left == 0 {
            // An empty message (or chunk size 0, refused when set) ends here.
            self.payload(&[])?;
        }
        Ok(())
    }

    fn payload(&mut self, bytes: &[u8]) -> Result<(), GuardError> {
        let n = bytes.len() as u32;
        self.chunk_left -= n;
        let Some(partial) = self.partial.as_mut() else {
            return Ok(());
        };
        partial.left -= n;
        if let Some(capture) = partial.capture.as_mut() {
            capture.extend_from_slice(bytes);
        }
        if partial.left == 0 {
            let done = self.partial.take().expect("present");
            self.chunk_left = 0;
            self.message(done.type_id, done.capture.as_deref().unwrap_or_default())?;
        }
        Ok(())
    }

    /// A whole message passed: apply what changes the chunk stream, and
    /// check what rml_rtmp will parse recursively.
    fn message(&mut self, type_id: u8, payload: &[u8]) -> Result<(), GuardError> {
        match type_id {
            // Set Chunk Size; rml_rtmp ignores the top bit rule, we do not.
            1 if payload.len() >= 4 => {
                let size = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                if size == 0 || size > MAX_CHUNK_SIZE {
                    return Err(GuardError::BadChunkSize(size));
                }
                self.chunk_size = size;
            }
            // Window Acknowledgement Size: rml_rtmp counts up to it in a
            // u32 that would overflow near the top of the range.
            5 if payload.len() >= 4 => {
                let size = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                if size > 0x7FFF_FFFF {
                    return Err(GuardError::BadWindowSize(size));
                }
            }
            // rml_rtmp takes the first three values of a command without
            // checking that there are three (a panic).
            20 => amf0_values_at_least(payload, 3, "command")?,
            // AMF3 command: rml_rtmp skips one leading zero byte, then AMF0.
            17 => {
                amf0_values_at_least(payload.strip_prefix(&[0]).unwrap_or(payload), 3, "command")?
            }
            // It indexes the two values after `@setDataFrame` unchecked.
            15 | 18 if payload.starts_with(SET_DATA_FRAME) => {
                amf0_values_at_least(payload, 3, "@setDataFrame")?
            }
            15 | 18 => {
                amf0_scan(payload)?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn u24(b: &[u8]) -> u32 {
    u32::from_be_bytes([0, b[0], b[1], b[2]])
}

fn max_length(type_id: u8) -> u32 {
    match type_id {
        1..=7 => MAX_CONTROL_MESSAGE,
        8 | 9 | 22 => MAX_MEDIA_MESSAGE,
        _ => MAX_AMF_MESSAGE,
    }
}

fn needs_capture(type_id: u8) -> bool {
    matches!(type_id, 1 | 5 | 15 | 17 | 18 | 20)
}

fn amf0_values_at_least(data: &[u8], min: usize, what: &'static str) -> Result<(), GuardError> {
    if amf0_scan(data)? < min {
        return Err(GuardError::AmfTooShort(what));
    }
    Ok(())
}

/// Walks AMF0 values the way rml_amf0 will read them (objects and ECMA
/// arrays end at an empty name + 0x09, strict arrays at their count or at
/// 0x09), refusing deep nesting, and counts the top-level values. Stops
/// quietly at anything rml_amf0 itself rejects or at the end of input:
/// those fail there, without recursion.
fn amf0_scan(data: &[u8]) -> Result<usize, GuardError> {
    enum Container {
        Properties,
        Array(u32),
    }
    let mut stack: Vec<Container> = Vec::new();
    let mut at = 0usize;
    let mut values = 0usize;
    let take = |at: &mut usize, n: usize| -> Option<usize> {
        let start = *at;
        let end = start.checked_add(n).filter(|&e| e <= data.len())?;
        *at = end;
        Some(start)
    };
    loop {
        // Where a value is expected next, or a container closes.
        match stack.last_mut() {
            Some(Container::Properties) => {
                let Some(i) = take(&mut at, 2) else {
                    return Ok(values);
                };
                let name_len = usize::from(u16::from_be_bytes([data[i], data[i + 1]]));
                if name_len == 0 {
                    if take(&mut at, 1).is_none() {
                        return Ok(values);
                    }
                    stack.pop();
                    continue;
                }
                if take(&mut at, name_len).is_none() {
                    return Ok(values);
                }
            }
            Some(Container::Array(0)) => {
                stack.pop();
                continue;
            }
            Some(Container::Array(left)) => *left -= 1,
            None => {}
        }
        let Some(i) = take(&mut at, 1) else {
            return Ok(values);
        };
        if stack.is_empty() && data[i] != 0x09 {
            values += 1;
        }
        match data[i] {
            // A value cut short ends the input for rml_amf0 too.
            0x00 if take(&mut at, 8).is_none() => return Ok(values),
            0x01 if take(&mut at, 1).is_none() => return Ok(values),
            0x00 | 0x01 => {}
            0x02 => {
                let Some(i) = take(&mut at, 2) else {
                    return Ok(values);
                };
                let len = usize::from(u16::from_be_bytes([data[i], data[i + 1]]));
                if take(&mut at, len).is_none() {
                    return Ok(values);
                }
            }
            0x03 => stack.push(Container::Properties),
            0x05 | 0x06 => {}
            0x08 if take(&mut at, 4).is_none() => return Ok(values),
            0x08 => stack.push(Container::Properties),
            0x09 => match stack.last() {
                // End marker where a value should be: rml_amf0 ends the
                // array (or the top-level list) here, or fails in an object.
                Some(Container::Array(_)) => {
                    stack.pop();
                }
                _ => return Ok(values),
            },
            0x0A => {
                let Some(i) = take(&mut at, 4) else {
                    return Ok(values);
                };
                let count = u32::from_be_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
                stack.push(Container::Array(count));
            }
            _ => return Ok(values),
        }
        if stack.len() > MAX_AMF_DEPTH {
            return Err(GuardError::AmfTooDeep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtmp::chunk::encode_message;

    fn chunked(csid: u32, type_id: u8, payload: &[u8], chunk_size: usize) -> Vec<u8> {
        encode_message(csid, type_id, 0, 0, &[payload], chunk_size)
            .unwrap()
            .to_vec()
    }

    #[test]
    fn accepts_normal_traffic_byte_by_byte_and_all_at_once() {
        let mut stream = chunked(2, 1, &4096u32.to_be_bytes(), 128);
        stream.extend(chunked(3, 20, &amf(&["connect"]), 4096));
        stream.extend(chunked(4, 9, &vec![7u8; 10_000], 4096));
        stream.extend(chunked(5, 8, &[0xAF, 1, 2, 3], 4096));
        // A type-3 header starting a new message of the same length.
        stream.extend([0xC5, 0xAF, 1, 2, 3]);
        let mut whole = InboundGuard::default();
        whole.check(&stream).unwrap();
        let mut bytewise = InboundGuard::default();
        for b in &stream {
            bytewise.check(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(bytewise.chunk_size, 4096);
        assert!(bytewise.partial.is_none() && bytewise.header.is_empty());
    }

    /// AMF0 for a string command name, transaction 1 and a null object.
    fn amf(strings: &[&str]) -> Vec<u8> {
        use rml_rtmp::rml_amf0::{Amf0Value, serialize};
        let mut values: Vec<Amf0Value> = strings
            .iter()
            .map(|s| Amf0Value::Utf8String((*s).into()))
            .collect();
        if strings.len() == 1 && !strings[0].starts_with('@') {
            values.extend([Amf0Value::Number(1.0), Amf0Value::Null]);
        }
        serialize(&values).unwrap()
    }

    #[test]
    fn refuses_what_makes_rml_rtmp_panic() {
        use rml_rtmp::sessions::{ServerSession, ServerSessionConfig};
        let short_command = {
            let mut payload = vec![0x02, 0, 7];
            payload.extend_from_slice(b"connect");
            chunked(3, 20, &payload, 128)
        };
        let cases = [
            short_command,
            chunked(3, 18, &amf(&["@setDataFrame"]), 128),
            chunked(3, 18, &amf(&["@setDataFrame", "onMetaData"]), 128),
        ];
        for (i, bytes) in cases.iter().enumerate() {
            assert!(
                matches!(
                    InboundGuard::default().check(bytes),
                    Err(GuardError::AmfTooShort(_))
                ),
                "case {i}"
            );
        }
        // Proof that the rule is needed: rml_rtmp panics on the first two
        // (the third needs a publishing stream). When this fails, rml_rtmp
        // got fixed and the rule may go.
        for bytes in &cases[..2] {
            let panicked = std::panic::catch_unwind(|| {
                let (mut session, _) = ServerSession::new(ServerSessionConfig::new()).unwrap();
                let _ = session.handle_input(bytes);
            })
            .is_err();
            assert!(panicked);
        }
        let metadata = amf(&["@setDataFrame", "onMetaData", "x"]);
        assert_eq!(
            InboundGuard::default().check(&chunked(3, 18, &metadata, 128)),
            Ok(())
        );
    }

    #[test]
    fn refuses_interleaved_chunk_streams() {
        let mut g = InboundGuard::default();
        let video = chunked(4, 9, &[1u8; 300], 128);
        g.check(&video[..12 + 128]).unwrap();
        let audio = chunked(5, 8, &[0xAF, 1], 128);
        assert_eq!(
            g.check(&audio),
            Err(GuardError::Interleaved {
                csid: 5,
                partial: 4
            })
        );
    }

    #[test]
    fn refuses_headers_without_history_and_huge_messages() {
        assert_eq!(
            InboundGuard::default().check(&[0x44, 0, 0, 0]),
            Err(GuardError::NoPreviousHeader { csid: 4 })
        );
        let mut header = vec![0x04, 0, 0, 0, 0xFF, 0xFF, 0xFF, 9, 1, 0, 0, 0];
        assert!(matches!(
            InboundGuard::default().check(&header),
            Err(GuardError::TooLong { .. })
        ));
        header[7] = 20;
        header[4..7].copy_from_slice(&[0x01, 0, 1]);
        assert!(matches!(
            InboundGuard::default().check(&header),
            Err(GuardError::TooLong { .. })
        ));
    }

    #[test]
    fn refuses_bad_chunk_sizes_and_small_extended_deltas() {
        let zero = chunked(2, 1, &0u32.to_be_bytes(), 128);
        assert_eq!(
            InboundGuard::default().check(&zero),
            Err(GuardError::BadChunkSize(0))
        );
        let mut g = InboundGuard::default();
        g.check(&chunked(4, 9, &[1], 128)).unwrap();
        // Type 2 with delta 0xFFFFFF and an extended value below it.
        assert_eq!(
            g.check(&[0x84, 0xFF, 0xFF, 0xFF, 0, 0, 0, 5]),
            Err(GuardError::BadExtendedTimestamp(5))
        );
    }

    #[test]
    fn limits_chunk_stream_count() {
        let mut g = InboundGuard::default();
        let mut result = Ok(());
        for csid in 2..(2 + MAX_CHUNK_STREAMS as u32 + 1) {
            // Two-byte basic headers from 64 on.
            let mut message = match csid {
                2..=63 => vec![csid as u8],
                _ => vec![0, (csid - 64) as u8],
            };
            message.extend([0, 0, 0, 0, 0, 1, 9, 1, 0, 0, 0, 0x17]);
            result = g.check(&message);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(GuardError::TooManyStreams));
    }

    #[test]
    fn amf0_depth() {
        // connect-like: string, number, object with a nested object.
        let ok = rml_rtmp::rml_amf0::serialize(&vec![
            rml_rtmp::rml_amf0::Amf0Value::Utf8String("connect".into()),
            rml_rtmp::rml_amf0::Amf0Value::Number(1.0),
            rml_rtmp::rml_amf0::Amf0Value::Object(
                [(
                    "a".to_string(),
                    rml_rtmp::rml_amf0::Amf0Value::StrictArray(vec![
                        rml_rtmp::rml_amf0::Amf0Value::Null,
                    ]),
                )]
                .into_iter()
                .collect(),
            ),
        ])
        .unwrap();
        assert_eq!(amf0_scan(&ok), Ok(3));
        let mut deep = Vec::new();
        for _ in 0..1000 {
            deep.extend([0x03, 0x00, 0x01, b'a']);
        }
        assert_eq!(amf0_scan(&deep), Err(GuardError::AmfTooDeep));
        let arrays: Vec<u8> = (0..100).flat_map(|_| [0x0A, 0, 0, 0, 1]).collect();
        assert_eq!(amf0_scan(&arrays), Err(GuardError::AmfTooDeep));
        // Through the chunk path too.
        let mut g = InboundGuard::default();
        assert_eq!(
            g.check(&chunked(3, 20, &deep, 128)),
            Err(GuardError::AmfTooDeep)
        );
    }

    #[test]
    fn random_input_never_panics() {
        // A small deterministic generator: the guard must return, not panic.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let mut g = InboundGuard::default();
            let bytes: Vec<u8> = (0..512)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = g.check(&bytes);
            let _ = amf0_scan(&bytes);
        }
    }
}
