//! Content frame signatures: what the ingesting node pays once per frame
//! (sign) and what a relay or player pays once per frame (verify), for an
//! AAC frame, an average 2.5 Mbit/s video frame and a keyframe; and the
//! AES-256-GCM seal/open of ENCRYPTED contents.
//!
//! `cargo bench -p avrs-crypto --bench frame -- --warm-up-time 1 --measurement-time 3`

use avrs_crypto::{Algorithm, ContentKey, FramePlace, FrameVerifier, SigningKey, sign_frame};
use avrs_proto::Guuid;
use avrs_proto::avrs::quic::{ContentOrigin, FrameFlags, FrameHeader};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const SIZES: [(&str, usize); 3] = [
    ("aac_400B", 400),
    ("video_10KB", 10_000),
    ("key_100KB", 100_000),
];

fn place() -> FramePlace {
    FramePlace {
        content: Guuid::new(1, 2),
        seq: 1234,
        flow: 0,
        header: FrameHeader {
            flags: FrameFlags::KEYFRAME,
            dts: 90_000,
            pts: 93_000,
        },
    }
}

fn bench(c: &mut Criterion, algorithm: Algorithm) {
    let key = SigningKey::generate(algorithm).unwrap();
    let origin = ContentOrigin {
        content: Guuid::new(1, 2),
        algorithm: key.algorithm().sign_type_code() as u16,
        public_key: key.public_key().as_bytes().to_vec(),
    };
    let verifier = FrameVerifier::new(&origin, &[]).unwrap();
    let mut group = c.benchmark_group(format!("{algorithm}/frame"));
    for (name, size) in SIZES {
        let frame: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let signature = sign_frame(&key, &place(), &frame).unwrap();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("sign/{name}"), |b| {
            b.iter(|| sign_frame(&key, black_box(&place()), black_box(&frame)).unwrap())
        });
        group.bench_function(format!("verify/{name}"), |b| {
            let p = place();
            b.iter(|| {
                verifier
                    .check(
                        p.seq,
                        p.flow,
                        p.header,
                        Some(black_box(&signature)),
                        black_box(&frame),
                    )
                    .unwrap()
            })
        });
    }
    group.finish();
}

/// AES-256-GCM seal (once per frame at ingest) and open (once per frame
/// per player; relays never open).
fn sealing(c: &mut Criterion) {
    let key = ContentKey::generate(1).unwrap();
    let mut group = c.benchmark_group("aes-256-gcm/frame");
    for (name, size) in SIZES {
        let frame: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let sealed = key.seal(&place(), &frame).unwrap();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("seal/{name}"), |b| {
            b.iter(|| key.seal(black_box(&place()), black_box(&frame)).unwrap())
        });
        group.bench_function(format!("open/{name}"), |b| {
            b.iter(|| key.open(black_box(&place()), black_box(&sealed)).unwrap())
        });
    }
    group.finish();
}

fn frames(c: &mut Criterion) {
    for algorithm in Algorithm::ALL {
        bench(c, algorithm);
    }
    sealing(c);
}

criterion_group!(benches, frames);
criterion_main!(benches);
