//! Outbound RTMP chunking of the messages this module writes itself.
//!
//! Every message starts with a type-0 (full) chunk header and continues with
//! type-3 chunks, so its bytes depend on nothing but the message: not on what
//! was sent before on the connection. That is what lets one encoding of a
//! media frame serve every RTMP viewer (`Encoding::RtmpMessage`), and lets
//! these messages interleave with rml_rtmp's own (header-compressed) output:
//! they use chunk stream ids rml_rtmp never uses (it uses 2 to 6).

use bytes::{BufMut, Bytes, BytesMut};

/// Chunk size this server announces (Set Chunk Size, by rml_rtmp at session
/// start) and uses for everything it sends. 4096 is what nginx-rtmp and SRS
/// use: large enough that header overhead is ~0.3 %, small enough for
/// every client.
pub const OUT_CHUNK_SIZE: usize = 4096;

/// Chunk stream of video messages to viewers.
pub const VIDEO_CSID: u32 = 7;
/// Chunk stream of audio messages to viewers.
pub const AUDIO_CSID: u32 = 8;
/// Chunk stream of our own status commands (`onStatus` refusals).
pub const COMMAND_CSID: u32 = 9;
/// Chunk stream of our own data messages (`onMetaData` to viewers).
pub const DATA_CSID: u32 = 10;

/// RTMP message type ids.
pub const TYPE_AUDIO: u8 = 8;
pub const TYPE_VIDEO: u8 = 9;
pub const TYPE_DATA_AMF0: u8 = 18;
pub const TYPE_COMMAND_AMF0: u8 = 20;

/// Largest message length the 24-bit length field can carry.
pub const MAX_MESSAGE_LEN: usize = 0xFF_FFFF;

/// A timestamp at or above this goes in the extended-timestamp field.
const EXTENDED: u32 = 0xFF_FFFF;

/// One message as RTMP chunks: a type-0 header, then type-3 continuation
/// headers every `chunk_size` bytes. `parts` are concatenated to form the
/// payload (so a codec prefix and the frame data need no joining first).
/// Returns `None` when the payload exceeds [`MAX_MESSAGE_LEN`].
pub fn encode_message(
    csid: u32,
    type_id: u8,
    timestamp: u32,
    message_stream_id: u32,
    parts: &[&[u8]],
    chunk_size: usize,
) -> Option<Bytes> {
    debug_assert!((2..=63).contains(&csid), "one-byte basic headers only");
    debug_assert!(chunk_size > 0);
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if len > MAX_MESSAGE_LEN {
        return None;
    }
    let extended = timestamp >= EXTENDED;
    let ext_len = if extended { 4 } else { 0 };
    let continuations = len.saturating_sub(1) / chunk_size;
    let mut out = BytesMut::with_capacity(12 + ext_len + continuations * (1 + ext_len) + len);

    // Type-0 header: fmt 0 | csid, timestamp (24), length (24), type,
    // message stream id (32, little-endian), extended timestamp.
    out.put_u8(csid as u8);
    put_u24(&mut out, timestamp.min(EXTENDED));
    put_u24(&mut out, len as u32);
    out.put_u8(type_id);
    out.put_u32_le(message_stream_id);
    if extended {
        out.put_u32(timestamp);
    }

    let mut in_chunk = 0;
    for part in parts {
        let mut part: &[u8] = part;
        while !part.is_empty() {
            if in_chunk == chunk_size {
                // Type-3 header. Like ffmpeg and nginx-rtmp, repeat the
                // extended timestamp in it: readers expect it there.
                out.put_u8(0xC0 | csid as u8);
                if extended {
                    out.put_u32(timestamp);
                }
                in_chunk = 0;
            }
            let take = part.len().min(chunk_size - in_chunk);
            out.put_slice(&part[..take]);
            part = &part[take..];
            in_chunk += take;
        }
    }
    Some(out.freeze())
}

fn put_u24(out: &mut BytesMut, value: u32) {
    out.put_slice(&value.to_be_bytes()[1..]);
}

/// An AMF0 `onStatus` command on `message_stream_id`, as chunks on
/// [`COMMAND_CSID`]: how a refusal reaches the client's log.
pub fn on_status(message_stream_id: u32, level: &str, code: &str, description: &str) -> Bytes {
    use rml_rtmp::rml_amf0::{Amf0Value, serialize};
    let info = [
        ("level", level),
        ("code", code),
        ("description", description),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Amf0Value::Utf8String(v.to_owned())))
    .collect();
    let values = vec![
        Amf0Value::Utf8String("onStatus".into()),
        Amf0Value::Number(0.0),
        Amf0Value::Null,
        Amf0Value::Object(info),
    ];
    // Serialising strings, numbers and a flat object cannot fail.
    let payload = serialize(&values).unwrap_or_default();
    encode_message(
        COMMAND_CSID,
        TYPE_COMMAND_AMF0,
        0,
        message_stream_id,
        &[&payload],
        OUT_CHUNK_SIZE,
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rml_rtmp::chunk_io::ChunkDeserializer;

    fn decode(bytes: &[u8], chunk_size: usize) -> rml_rtmp::messages::MessagePayload {
        let mut de = ChunkDeserializer::new();
        de.set_max_chunk_size(chunk_size).unwrap();
        de.get_next_message(bytes)
            .unwrap()
            .expect("a whole message")
    }

    #[test]
    fn single_chunk_message_has_a_full_header() {
        let bytes = encode_message(7, TYPE_VIDEO, 1234, 1, &[b"ab", b"cd"], 128).unwrap();
        assert_eq!(
            &bytes[..],
            &[
                7, 0, 4, 0xD2, 0, 0, 4, 9, 1, 0, 0, 0, b'a', b'b', b'c', b'd'
            ]
        );
    }

    #[test]
    fn multi_chunk_message_round_trips_through_rml() {
        let payload: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let (a, b) = payload.split_at(3);
        let bytes = encode_message(8, TYPE_AUDIO, 99, 1, &[a, b], 4096).unwrap();
        // 12-byte header, 2 continuation headers.
        assert_eq!(bytes.len(), 12 + 2 + payload.len());
        let message = decode(&bytes, 4096);
        assert_eq!(message.type_id, TYPE_AUDIO);
        assert_eq!(message.timestamp.value, 99);
        assert_eq!(message.message_stream_id, 1);
        assert_eq!(&message.data[..], &payload[..]);
    }

    #[test]
    fn exact_multiple_of_chunk_size_has_no_empty_trailing_chunk() {
        let payload = vec![5u8; 256];
        let bytes = encode_message(7, TYPE_VIDEO, 0, 1, &[&payload], 128).unwrap();
        assert_eq!(bytes.len(), 12 + 1 + 256);
    }

    #[test]
    fn extended_timestamp_is_written_in_every_chunk() {
        let payload = vec![1u8; 300];
        let ts = 0x0100_0000;
        let bytes = encode_message(7, TYPE_VIDEO, ts, 1, &[&payload], 128).unwrap();
        assert_eq!(&bytes[1..4], &[0xFF, 0xFF, 0xFF]);
        assert_eq!(&bytes[12..16], &ts.to_be_bytes());
        let second = 16 + 128;
        assert_eq!(bytes[second], 0xC7);
        assert_eq!(&bytes[second + 1..second + 5], &ts.to_be_bytes());
        assert_eq!(bytes.len(), 12 + 4 + 2 * 5 + 300);
    }

    #[test]
    fn empty_and_oversized_payloads() {
        let empty = encode_message(7, TYPE_VIDEO, 0, 1, &[], 128).unwrap();
        assert_eq!(empty.len(), 12);
        let big = vec![0u8; MAX_MESSAGE_LEN + 1];
        assert!(encode_message(7, TYPE_VIDEO, 0, 1, &[&big], 4096).is_none());
    }

    #[test]
    fn on_status_decodes_as_an_amf0_command() {
        let bytes = on_status(1, "error", "NetStream.Publish.BadName", "busy");
        let message = decode(&bytes, OUT_CHUNK_SIZE);
        assert_eq!(message.type_id, TYPE_COMMAND_AMF0);
        match message.to_rtmp_message().unwrap() {
            rml_rtmp::messages::RtmpMessage::Amf0Command {
                command_name,
                additional_arguments,
                ..
            } => {
                assert_eq!(command_name, "onStatus");
                let props = additional_arguments[0]
                    .clone()
                    .get_object_properties()
                    .unwrap();
                assert_eq!(
                    props.get("code"),
                    Some(&rml_rtmp::rml_amf0::Amf0Value::Utf8String(
                        "NetStream.Publish.BadName".into()
                    ))
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
