use super::*;
use crate::error::KeyFileProblem as P;

fn ed_key() -> SigningKey {
    SigningKey::from_seed(Algorithm::Ed25519, &[0x42; 32]).unwrap()
}

/// A body with a correct checksum over `content` (which starts with magic).
fn body_with_checksum(content: &[u8]) -> Vec<u8> {
    let mut body = content.to_vec();
    body.extend_from_slice(sha3_256(content).as_bytes());
    body
}

/// Armours a body as a file would.
fn armoured(body: &[u8]) -> String {
    format!("{BEGIN}\n{}\n{END}\n", base64::encode(body))
}

fn problem(text: &[u8]) -> KeyFileProblem {
    decode(text).expect_err("decoding must fail")
}

#[test]
fn body_has_the_literal_layout() {
    let key = ed_key();
    let body = encode_body(&key);
    assert_eq!(body.len(), 8 + 4 + 4 + 32 + 4 + 32 + 32);
    assert_eq!(&body[..8], b"AVRSKEY1");
    assert_eq!(&body[8..16], &[0x01, 0x0A, 0, 0, 0x20, 0, 0, 0]);
    assert_eq!(&body[16..48], &[0x42; 32]);
    assert_eq!(&body[48..52], &[0x20, 0, 0, 0]);
    assert_eq!(&body[52..84], key.public_key().as_bytes());
    assert_eq!(&body[84..], sha3_256(&body[..84]).as_bytes());
}

#[test]
fn text_is_armoured_base64_in_64_character_lines() {
    let key = SigningKey::from_seed(Algorithm::MlDsa65, &[5; 32]).unwrap();
    let text = encode(&key);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&BEGIN));
    assert_eq!(lines.last(), Some(&END));
    let body = &lines[1..lines.len() - 1];
    assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));
    assert!(text.ends_with("-----\n"));
    assert_eq!(text.len(), text.capacity(), "sized once");
}

#[test]
fn both_algorithms_round_trip() {
    for alg in Algorithm::ALL {
        let key = SigningKey::generate(alg).unwrap();
        let text = encode(&key);
        let again = decode(text.as_bytes()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(again.seed(), key.seed());
    }
}

#[test]
fn crlf_line_ends_and_surrounding_blank_lines_are_accepted() {
    let key = ed_key();
    let text = encode(&key).replace('\n', "\r\n");
    let text = format!("\r\n\n{text}\n\n");
    assert_eq!(decode(text.as_bytes()).unwrap().id(), key.id());
}

#[test]
fn armour_problems_are_named() {
    let good = encode(&ed_key());
    assert!(matches!(problem(b""), P::Armour(_)));
    assert!(matches!(problem(b"\xff\xfe"), P::Armour("not UTF-8 text")));
    let no_end = good.replace(END, "");
    assert!(matches!(problem(no_end.as_bytes()), P::Armour(m) if m.contains("END")));
    let other_label = good.replace("PRIVATE", "PUBLIC");
    assert!(matches!(problem(other_label.as_bytes()), P::Armour(m) if m.contains("BEGIN")));
    let after = format!("{}extra\n", good.as_str());
    assert!(matches!(
        problem(after.as_bytes()),
        P::Armour("text after the END line")
    ));
}

#[test]
fn damage_is_caught() {
    let good = encode(&ed_key());
    let mut bytes = good.as_bytes().to_vec();
    let at = BEGIN.len() + 1 + 20;
    bytes[at] = if bytes[at] == b'Q' { b'R' } else { b'Q' };
    assert!(matches!(problem(&bytes), P::Checksum | P::Base64(_)));

    let mut bad_char = good.as_bytes().to_vec();
    bad_char[BEGIN.len() + 1 + 3] = b'*';
    assert!(matches!(problem(&bad_char), P::Base64("invalid character")));

    // Losing a whole line keeps valid base64 but breaks the checksum.
    let lines: Vec<&str> = good.lines().collect();
    let mut cut = lines.clone();
    cut.remove(1);
    let text = cut.join("\n");
    assert!(matches!(
        problem(text.as_bytes()),
        P::Checksum | P::BadMagic
    ));
}

#[test]
fn body_problems_are_named() {
    let key = ed_key();
    let body = encode_body(&key);

    let mut magic = body.to_vec();
    magic[7] = b'2';
    assert!(matches!(problem(armoured(&magic).as_bytes()), P::BadMagic));

    assert!(matches!(
        problem(armoured(b"AVRSKEY1").as_bytes()),
        P::Truncated { what: "checksum" }
    ));

    let mut sum = body.to_vec();
    let last = sum.len() - 1;
    sum[last] ^= 1;
    assert!(matches!(problem(armoured(&sum).as_bytes()), P::Checksum));

    let content = &body[..body.len() - 32];
    let mut unknown = content.to_vec();
    unknown[8..12].copy_from_slice(&0x0102u32.to_le_bytes());
    let err = problem(armoured(&body_with_checksum(&unknown)).as_bytes());
    assert!(matches!(err, P::UnknownAlgorithm(0x0102)));
    assert_eq!(err.to_string(), "unknown algorithm (signature type 0x0102)");

    let mut seed_len = content.to_vec();
    seed_len[12..16].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    assert!(matches!(
        problem(armoured(&body_with_checksum(&seed_len)).as_bytes()),
        P::WrongLength {
            what: "private key",
            expected: 32,
            actual: 0xFFFF_FFFF
        }
    ));

    let mut pub_len = content.to_vec();
    pub_len[48..52].copy_from_slice(&31u32.to_le_bytes());
    assert!(matches!(
        problem(armoured(&body_with_checksum(&pub_len)).as_bytes()),
        P::WrongLength {
            what: "public key",
            ..
        }
    ));

    let short = &content[..content.len() - 1];
    assert!(matches!(
        problem(armoured(&body_with_checksum(short)).as_bytes()),
        P::Truncated { what: "public key" }
    ));
    assert!(matches!(
        problem(armoured(&body_with_checksum(&content[..14])).as_bytes()),
        P::Truncated {
            what: "signature type" | "private key"
        }
    ));

    let mut trailing = content.to_vec();
    trailing.push(0);
    assert!(matches!(
        problem(armoured(&body_with_checksum(&trailing)).as_bytes()),
        P::TrailingBytes(1)
    ));

    let mut mismatch = content.to_vec();
    mismatch[52] ^= 1;
    assert!(matches!(
        problem(armoured(&body_with_checksum(&mismatch)).as_bytes()),
        P::KeyMismatch
    ));
}

#[test]
fn oversized_input_is_refused_before_decoding() {
    let big = vec![b'A'; MAX_FILE_SIZE + 1];
    assert!(matches!(
        problem(&big),
        P::TooLarge {
            size,
            max: MAX_FILE_SIZE
        } if size == (MAX_FILE_SIZE + 1) as u64
    ));
}
