//! AVRS wire-format throughput on realistic packets.
//!
//! Run: `cargo bench -p avrs-proto --bench proto -- --warm-up-time 1 --measurement-time 3`
//!
//! Every figure is bytes of packet per second (`Throughput::Bytes`), so the
//! structural pass can be compared against the 1 GB/s target directly.

use avrs_proto::Guuid;
use avrs_proto::avrs::cluster::{self, ClusterOptions, MemberInfo};
use avrs_proto::avrs::{
    ClusterRequest, ClusterType, ContentPacket, ControlPacket, FlowCodec, Flows, Request, Roles,
};
use avrs_proto::tsd::{TsdIter, TsdLimits, TsdList};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// A `dap_sign_t`-sized blob: 14-byte header, public key, signature.
fn fake_sign(pkey: usize, sig: usize) -> Vec<u8> {
    (0..14 + pkey + sig).map(|i| i as u8).collect()
}

/// (a) CONTENT_ADD: 6 arguments and an Ed25519-sized SIGN (14 + 32 + 64).
fn content_add() -> (cluster::ContentAdd, Vec<u8>) {
    let request = cluster::ContentAdd {
        id: Guuid::new(0x1122_3344, 0x5566_7788),
        content_id: Guuid::new(0xAABB, 0xCCDD),
        title: Some("Evening lecture: distributed systems".into()),
        flows: Flows::new("av").unwrap(),
        codecs: vec![
            FlowCodec::new(0, "audio/mpeg, mpegversion=4, rate=48000, channels=2"),
            FlowCodec::new(1, "video/x-h264, stream-format=avc, width=1280, height=720"),
        ],
    };
    let sign = fake_sign(32, 64);
    (request, sign)
}

/// (b) MEMBER_REQUEST_ADD with an ML-DSA-65-sized SIGN (14 + 1952 + 3309).
fn member_request_pq() -> (cluster::MemberRequestAdd, Vec<u8>) {
    let request = cluster::MemberRequestAdd {
        id: Guuid::new(1, 2),
        addr: None,
        role: Some(Roles::CLIENT),
        info: MemberInfo {
            display_name: Some("Ann".into()),
            ..MemberInfo::default()
        },
    };
    (request, fake_sign(1952, 3309))
}

/// (c) LIST_RESPONSE with 64 small items (GUUIDs).
fn list_64() -> (cluster::ListResponse, Vec<u8>) {
    let ids = (0..64).map(|i| Guuid::new(i, !i)).collect();
    (cluster::ListResponse { ids }, Vec::new())
}

fn packet_of<R: Request<Kind = ClusterType>>(request: &R, sign: &[u8]) -> Vec<u8> {
    let builder = request.to_packet().unwrap();
    if sign.is_empty() {
        builder.finish()
    } else {
        builder.finish_signed(sign).unwrap()
    }
}

fn bench_packet<R: Request<Kind = ClusterType>>(
    c: &mut Criterion,
    name: &str,
    request: &R,
    sign: &[u8],
) {
    let packet = packet_of(request, sign);
    let args = &packet[8..];
    let mut group = c.benchmark_group(format!("control/{name}"));
    group.throughput(Throughput::Bytes(packet.len() as u64));
    group.bench_function("tsd_iter", |b| {
        b.iter(|| {
            let iter = TsdIter::new(black_box(args), TsdLimits::DEFAULT);
            iter.fold(0usize, |n, item| n + item.unwrap().value.len())
        })
    });
    group.bench_function("tsd_list_parse", |b| {
        b.iter(|| TsdList::parse(black_box(args), TsdLimits::DEFAULT).unwrap())
    });
    group.bench_function("control_decode", |b| {
        b.iter(|| ControlPacket::<ClusterType>::decode(black_box(&packet)).unwrap())
    });
    group.bench_function("typed_decode", |b| {
        b.iter(|| {
            let decoded = ControlPacket::<ClusterType>::decode(black_box(&packet)).unwrap();
            ClusterRequest::from_packet(&decoded).unwrap()
        })
    });
    group.bench_function("encode_signed", |b| {
        b.iter(|| packet_of(black_box(request), black_box(sign)))
    });
    group.finish();
}

fn control(c: &mut Criterion) {
    let (request, sign) = content_add();
    bench_packet(c, "content_add_ed25519", &request, &sign);
    let (request, sign) = member_request_pq();
    bench_packet(c, "member_add_mldsa65", &request, &sign);
    let (request, sign) = list_64();
    bench_packet(c, "list_64_ids", &request, &sign);
    let create = cluster::Create {
        id: None,
        options: ClusterOptions::default(),
    };
    bench_packet(c, "create_bare", &create, &fake_sign(32, 64));
}

fn content(c: &mut Criterion) {
    for size in [1024usize, 16 * 1024] {
        let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let packet = ContentPacket::new(1, 42, &payload).encode();
        let mut group = c.benchmark_group(format!("content/{}k", size / 1024));
        group.throughput(Throughput::Bytes(packet.len() as u64));
        group.bench_function("encode", |b| {
            b.iter(|| ContentPacket::new(1, 42, black_box(&payload)).encode())
        });
        group.bench_function("encode_into_reused", |b| {
            let mut out = Vec::with_capacity(packet.len());
            b.iter(|| {
                out.clear();
                ContentPacket::new(1, 42, black_box(&payload)).encode_into(&mut out);
                out.len()
            })
        });
        group.bench_function("decode", |b| {
            b.iter(|| ContentPacket::decode(black_box(&packet)).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, control, content);
criterion_main!(benches);
