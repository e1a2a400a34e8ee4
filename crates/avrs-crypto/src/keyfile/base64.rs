//! Strict standard base64 (RFC 4648 §4, with padding) for the key file body.
//!
//! Strict means one text per byte string: no whitespace, padding only at the
//! end, unused bits zero. A damaged file then fails here or at the checksum.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `data`; the output is sized once so no partial copy is left behind
/// by a reallocation (the body holds a secret).
pub(crate) fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 0x3F]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn value_of(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes strict base64 into a vector sized once.
pub(crate) fn decode(text: &[u8]) -> Result<Vec<u8>, &'static str> {
    if !text.len().is_multiple_of(4) {
        return Err("length is not a multiple of 4");
    }
    let quads = text.len() / 4;
    let mut out = Vec::with_capacity(quads * 3);
    for (index, quad) in text.chunks_exact(4).enumerate() {
        let last = index + 1 == quads;
        decode_quad(quad, last, &mut out)?;
    }
    Ok(out)
}

fn decode_quad(quad: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), &'static str> {
    let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 || (pad > 0 && !last) {
        return Err("misplaced padding");
    }
    let mut n = 0u32;
    for &c in &quad[..4 - pad] {
        n = n << 6 | value_of(c).ok_or("invalid character")?;
    }
    n <<= 6 * pad;
    let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
    let keep = 3 - pad;
    if bytes[keep..].iter().any(|&b| b != 0) {
        return Err("non-zero unused bits");
    }
    out.extend_from_slice(&bytes[..keep]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_4648_vectors() {
        let vectors: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (raw, text) in vectors {
            assert_eq!(encode(raw), text);
            assert_eq!(decode(text.as_bytes()).unwrap(), raw);
        }
        assert_eq!(encode(&[0xFB, 0xFF]), "+/8=");
    }

    #[test]
    fn non_canonical_and_damaged_text_is_refused() {
        let cases: [(&str, &str); 7] = [
            ("Zg=", "length is not a multiple of 4"),
            ("Zg==Zg==", "misplaced padding"),
            ("Z===", "misplaced padding"),
            ("Zh==", "non-zero unused bits"),
            ("Zm9=", "non-zero unused bits"),
            ("Zm 9", "invalid character"),
            ("Zm9-", "invalid character"),
        ];
        for (text, why) in cases {
            assert_eq!(decode(text.as_bytes()), Err(why), "{text}");
        }
        assert_eq!(decode(b"=Zm9"), Err("invalid character"));
    }

    proptest! {
        #[test]
        fn round_trips(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = encode(&data);
            prop_assert_eq!(text.len(), data.len().div_ceil(3) * 4);
            prop_assert_eq!(decode(text.as_bytes()).unwrap(), data);
        }

        #[test]
        fn arbitrary_text_never_panics(text in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(data) = decode(&text) {
                let again = encode(&data);
                prop_assert_eq!(again.as_bytes(), &text[..]);
            }
        }
    }
}
