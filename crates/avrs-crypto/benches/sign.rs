//! Sign and verify cost per algorithm: a bare envelope over a 1200-byte
//! message (a datagram's worth) and a signed control packet end to end.
//!
//! `cargo bench -p avrs-crypto --bench sign -- --warm-up-time 1 --measurement-time 3`

use avrs_crypto::envelope::{self, SignEnvelope};
use avrs_crypto::{
    Algorithm, PublicKey, SigningKey, sign_packet, verify_packet, verify_packet_with_key,
};
use avrs_proto::Guuid;
use avrs_proto::tsd::TsdBuilder;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const CLUSTER_SIGN: u16 = 0xFFFF;

fn message() -> Vec<u8> {
    (0..1200u32).map(|i| (i * 31 % 251) as u8).collect()
}

/// A CONTENT_ADD-like cluster packet: guuids, a title, flags, a codec list.
fn control_packet() -> Vec<u8> {
    let mut b = TsdBuilder::with_prefix(vec![0x20, 0, 0, 0, 0, 0, 0, 0]);
    b.put_guuid(0x0002, Guuid::new(1, 2));
    b.put_guuid(0x0010, Guuid::new(3, 4));
    b.put_str(0x0011, "Evening concert, main stage").unwrap();
    b.put_u32(0x0012, 0x0000_0003);
    b.put_str(0x0013, "video/x-h264,profile=high;audio/mpeg,mpegversion=4")
        .unwrap();
    b.finish()
}

fn bench_envelope(c: &mut Criterion, alg: Algorithm) {
    let key = SigningKey::generate(alg).unwrap();
    let msg = message();
    let signed = envelope::sign(&key, &msg).unwrap();
    let mut group = c.benchmark_group(format!("{alg}/envelope_1200B"));
    group.bench_function("sign", |b| {
        b.iter(|| envelope::sign(&key, black_box(&msg)).unwrap())
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            let env = SignEnvelope::parse(black_box(&signed)).unwrap();
            env.verify(black_box(&msg)).unwrap()
        })
    });
    group.bench_function("verify_known_key", |b| {
        let public = key.public_key();
        b.iter(|| {
            let env = SignEnvelope::parse(black_box(&signed)).unwrap();
            env.verify_with_key(black_box(&msg), public).unwrap()
        })
    });
    group.finish();
}

fn bench_packet(c: &mut Criterion, alg: Algorithm) {
    let key = SigningKey::generate(alg).unwrap();
    let unsigned = control_packet();
    let packet = sign_packet(&unsigned, CLUSTER_SIGN, &key).unwrap();
    let expected = key.id();
    let mut group = c.benchmark_group(format!("{alg}/control_packet"));
    group.bench_function("sign_packet", |b| {
        b.iter(|| sign_packet(black_box(&unsigned), CLUSTER_SIGN, &key).unwrap())
    });
    group.bench_function("verify_packet", |b| {
        b.iter(|| verify_packet(black_box(&packet), CLUSTER_SIGN, Some(&expected)).unwrap())
    });
    group.bench_function("verify_packet_with_key", |b| {
        let public = key.public_key();
        b.iter(|| verify_packet_with_key(black_box(&packet), CLUSTER_SIGN, public).unwrap())
    });
    // The part of verify_packet a known key saves: parsing and hashing it.
    group.bench_function("public_key_from_bytes", |b| {
        let bytes = key.public_key().as_bytes();
        b.iter(|| PublicKey::from_bytes(alg, black_box(bytes)).unwrap())
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    for alg in Algorithm::ALL {
        bench_envelope(c, alg);
        bench_packet(c, alg);
    }
    c.bench_function("sha3_256/1200B", |b| {
        let msg = message();
        b.iter(|| avrs_crypto::sha3_256(black_box(&msg)))
    });
}

criterion_group!(sign, benches);
criterion_main!(sign);
