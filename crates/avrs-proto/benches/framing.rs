//! DAP framing throughput: one channel packet written, then read back
//! (header checks, reassembly of the 16 KB and 256 KB ones, seq checks), per
//! iteration, with the identity cipher so only the framing is measured.
//!
//! `cargo bench -p avrs-proto --bench framing -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use avrs_proto::dap::{Event, StreamReader, StreamWriter};
use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const NOW: u64 = 1_700_000_000;

fn write_then_read(
    writer: &mut StreamWriter,
    reader: &mut StreamReader,
    data: &[u8],
    out: &mut BytesMut,
) {
    out.clear();
    writer
        .channel_packet(NOW, b'A', b'c', data, out)
        .expect("within the caps");
    assert_eq!(reader.push(out), out.len());
    while let Some(outcome) = reader.poll() {
        match outcome {
            Ok(Event::Channel { packet, .. }) => {
                black_box(packet);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn framing(c: &mut Criterion) {
    let mut group = c.benchmark_group("dap_framing_round_trip");
    for (label, size) in [("1KB", 1024), ("16KB", 16 * 1024), ("256KB", 256 * 1024)] {
        let data: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &data, |b, data| {
            let mut writer = StreamWriter::default();
            let mut reader = StreamReader::default();
            let mut out = BytesMut::new();
            b.iter(|| write_then_read(&mut writer, &mut reader, data, &mut out));
        });
    }
    group.finish();
}

criterion_group!(benches, framing);
criterion_main!(benches);
