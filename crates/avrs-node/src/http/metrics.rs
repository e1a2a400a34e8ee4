//! `GET /metrics`: Prometheus text exposition, written by hand (a handful of
//! families, no global registry).

use crate::context::NodeContext;
use avrs_core::live::Protocol;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub async fn render(State(context): State<Arc<NodeContext>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exposition(&context),
    )
}

/// The whole metrics page.
pub fn exposition(context: &NodeContext) -> String {
    let mut out = String::new();
    let m = &context.metrics;
    let node: [(&str, &str, &str, &AtomicU64); 5] = [
        (
            "avrs_rtmp_connections",
            "gauge",
            "Open RTMP connections.",
            &m.rtmp_connections,
        ),
        (
            "avrs_http_connections",
            "gauge",
            "Open HTTP viewer streams.",
            &m.http_connections,
        ),
        (
            "avrs_native_connections",
            "gauge",
            "Open native (QUIC) sessions.",
            &m.native_connections,
        ),
        (
            "avrs_rtmp_errors_total",
            "counter",
            "RTMP connections closed on a protocol error.",
            &m.rtmp_errors,
        ),
        (
            "avrs_publish_refused_total",
            "counter",
            "Publish attempts refused.",
            &m.publish_refused,
        ),
    ];
    for (name, kind, help, value) in node {
        family(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
    }
    stream_families(&mut out, context);
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn stream_families(out: &mut String, context: &NodeContext) {
    let contents = context.registry.list();
    type Getter = fn(&avrs_core::live::ContentStats) -> u64;
    let counters: [(&str, &str, Getter); 5] = [
        (
            "avrs_stream_bytes_in_total",
            "Media bytes received from the publisher.",
            |s| s.bytes_in.load(Ordering::Relaxed),
        ),
        (
            "avrs_stream_bytes_out_total",
            "Bytes sent to viewers.",
            |s| s.bytes_out.load(Ordering::Relaxed),
        ),
        (
            "avrs_stream_frames_in_total",
            "Frames received from the publisher.",
            |s| s.frames_in.load(Ordering::Relaxed),
        ),
        (
            "avrs_stream_frames_dropped_total",
            "Frames viewers skipped because they lagged.",
            |s| s.frames_dropped.load(Ordering::Relaxed),
        ),
        (
            "avrs_stream_frames_rejected_total",
            "Inbound frames refused by a content hook.",
            |s| s.frames_rejected.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, get) in counters {
        family(out, name, "counter", help);
        for content in &contents {
            let _ = writeln!(
                out,
                "{name}{{stream=\"{}\"}} {}",
                escape(content.name()),
                get(&content.stats)
            );
        }
    }
    family(
        out,
        "avrs_stream_viewers",
        "gauge",
        "Connected viewers by protocol.",
    );
    for content in &contents {
        for protocol in Protocol::ALL {
            let _ = writeln!(
                out,
                "avrs_stream_viewers{{stream=\"{}\",protocol=\"{}\"}} {}",
                escape(content.name()),
                protocol.name(),
                content.stats.viewers(protocol)
            );
        }
    }
}

/// Label values escape backslash, quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
