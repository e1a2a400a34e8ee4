//! The bench's result: built from the viewers' totals and the window's
//! samples, printed as a table for people or as JSON for scripts.

use super::viewer::ViewerResult;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

/// Distinct error messages kept in the report.
const MAX_ERRORS: usize = 10;

/// Everything `avrs bench` reports. Field meanings are in the docs of
/// `avrs bench`; times are milliseconds.
#[derive(Debug, Serialize)]
pub struct Report {
    pub protocol: String,
    pub url: String,
    pub viewers: ViewerCounts,
    /// Length of the measured window, seconds.
    pub window_seconds: f64,
    /// Bytes all viewers received in the window.
    pub window_bytes: u64,
    /// `window_bytes` as megabits per second.
    pub throughput_mbit_s: f64,
    /// Frame payload bytes (clear media) delivered in the window, and as
    /// megabits per second: native viewers only.
    pub window_media_bytes: Option<u64>,
    pub media_mbit_s: Option<f64>,
    /// Sum over viewers of the time each was receiving during the window.
    pub viewer_seconds: f64,
    pub frames: FrameCounts,
    /// Connect start to first video frame, one sample per viewer.
    pub ttff_ms: Option<Summary>,
    /// Arrival minus the stamped send time, live frames in the window.
    pub latency_ms: Option<Summary>,
    /// The bench process's own CPU in the window: near 1 per core it ran
    /// on means the load tool, not the server, was the limit.
    pub bench_cpu_seconds: Option<f64>,
    pub server: Option<ServerReport>,
}

#[derive(Debug, Default, Serialize)]
pub struct ViewerCounts {
    pub requested: usize,
    /// Received at least one video frame.
    pub connected: usize,
    /// Never received a video frame.
    pub failed: usize,
    /// Received frames, then lost the stream before the end.
    pub ended_early: usize,
    /// Distinct errors and how many viewers hit each.
    pub errors: BTreeMap<String, usize>,
}

#[derive(Debug, Default, Serialize)]
pub struct FrameCounts {
    /// Video frames, all viewers, whole run.
    pub video: u64,
    pub audio: u64,
    /// Gaps in the stamp counter.
    pub lost: u64,
    /// Video frames without a clock stamp.
    pub unstamped: u64,
    /// Frames stamped before their viewer connected (GOP cache).
    pub backlog: u64,
    /// Frames whose signature verified (native, `--verify`).
    pub verified: u64,
    /// Frames dropped as corrupted by the check (native, `--verify`).
    pub corrupted: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub count: u64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// From a histogram of microseconds; `None` when it is empty.
    pub fn from_micros(histogram: &Histogram<u64>) -> Option<Self> {
        if histogram.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Some(Self {
            count: histogram.len(),
            p50: ms(histogram.value_at_quantile(0.50)),
            p99: ms(histogram.value_at_quantile(0.99)),
            max: ms(histogram.max()),
        })
    }
}

#[derive(Debug, Serialize)]
pub struct ServerReport {
    /// The processes measured (the given pids and their descendants).
    pub pids: Vec<u32>,
    /// CPU (user + system) the server used in the window.
    pub cpu_seconds: f64,
    /// `viewer_seconds / cpu_seconds`: viewers one core could serve.
    pub viewer_seconds_per_cpu_second: Option<f64>,
    /// RSS before the first viewer connected and at the window's end.
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    /// RSS growth divided by connected viewers.
    pub rss_per_viewer_kib: Option<f64>,
}

/// Viewer totals into counts.
pub fn count(requested: usize, results: &[ViewerResult]) -> (ViewerCounts, FrameCounts) {
    let mut viewers = ViewerCounts {
        requested,
        ..ViewerCounts::default()
    };
    let mut frames = FrameCounts::default();
    for result in results {
        if result.ttff.is_some() {
            viewers.connected += 1;
        } else {
            viewers.failed += 1;
        }
        viewers.ended_early += usize::from(result.ended_early);
        if let Some(error) = &result.error {
            let known = viewers.errors.len();
            match viewers.errors.get_mut(error) {
                Some(n) => *n += 1,
                None if known < MAX_ERRORS => {
                    viewers.errors.insert(error.clone(), 1);
                }
                None => *viewers.errors.entry("(other errors)".into()).or_default() += 1,
            }
        }
        frames.video += result.video_frames;
        frames.audio += result.audio_frames;
        frames.lost += result.lost;
        frames.unstamped += result.unstamped;
        frames.backlog += result.backlog;
        frames.verified += result.verified;
        frames.corrupted += result.corrupted;
    }
    (viewers, frames)
}

/// Seconds each viewer was receiving inside `[start, end]`, summed.
pub fn viewer_seconds(results: &[ViewerResult], start: Instant, end: Instant) -> f64 {
    results
        .iter()
        .filter_map(|r| r.active)
        .map(|(from, to)| {
            let from = from.max(start);
            let to = to.min(end);
            to.saturating_duration_since(from).as_secs_f64()
        })
        .sum()
}

/// Megabits per second.
pub fn mbit_per_s(bytes: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        bytes as f64 * 8.0 / seconds / 1e6
    } else {
        0.0
    }
}

impl Report {
    /// The report as aligned lines for a terminal.
    pub fn to_table(&self) -> String {
        let mut t = String::new();
        let v = &self.viewers;
        let f = &self.frames;
        let mut row = |name: &str, value: String| {
            let _ = writeln!(t, "{name:<28} {value}");
        };
        row("protocol", format!("{} {}", self.protocol, self.url));
        row(
            "viewers",
            format!(
                "{} requested, {} connected, {} failed, {} ended early",
                v.requested, v.connected, v.failed, v.ended_early
            ),
        );
        row("window", format!("{:.2} s", self.window_seconds));
        row(
            "throughput",
            format!("{:.1} Mbit/s", self.throughput_mbit_s),
        );
        if let Some(media) = self.media_mbit_s {
            row("media throughput", format!("{media:.1} Mbit/s"));
        }
        row("viewer-seconds", format!("{:.1}", self.viewer_seconds));
        row(
            "video frames",
            format!(
                "{} received, {} lost, {} unstamped, {} from cache",
                f.video, f.lost, f.unstamped, f.backlog
            ),
        );
        row("audio frames", f.audio.to_string());
        if f.verified + f.corrupted > 0 {
            row(
                "signatures",
                format!("{} verified, {} corrupted", f.verified, f.corrupted),
            );
        }
        row("time to first frame (ms)", summary_text(&self.ttff_ms));
        row("latency (ms)", summary_text(&self.latency_ms));
        if let Some(cpu) = self.bench_cpu_seconds {
            row("bench CPU", format!("{cpu:.2} s"));
        }
        if let Some(s) = &self.server {
            row("server pids", format!("{:?}", s.pids));
            row("server CPU", format!("{:.2} s", s.cpu_seconds));
            row(
                "viewer-s per CPU-s",
                s.viewer_seconds_per_cpu_second
                    .map_or("-".into(), |x| format!("{x:.0}")),
            );
            row(
                "server RSS",
                format!(
                    "{} KiB before, {} KiB after, {} KiB per viewer",
                    s.rss_before_kib,
                    s.rss_after_kib,
                    s.rss_per_viewer_kib
                        .map_or("-".into(), |x| format!("{x:.1}"))
                ),
            );
        }
        for (error, n) in &v.errors {
            row("error", format!("{n} × {error}"));
        }
        t
    }
}

fn summary_text(summary: &Option<Summary>) -> String {
    match summary {
        Some(s) => format!(
            "p50 {:.1}  p99 {:.1}  max {:.1}  ({} samples)",
            s.p50, s.p99, s.max, s.count
        ),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::viewer::new_histogram;
    use super::*;
    use std::time::Duration;

    #[test]
    fn percentiles_in_milliseconds() {
        let mut h = new_histogram();
        assert_eq!(Summary::from_micros(&h), None);
        for us in 1..=1000u64 {
            h.record(us * 1000).unwrap(); // 1 ms .. 1000 ms
        }
        let s = Summary::from_micros(&h).unwrap();
        assert_eq!(s.count, 1000);
        // Three significant digits: within 0.1 %.
        assert!((s.p50 - 500.0).abs() <= 0.5, "{s:?}");
        assert!((s.p99 - 990.0).abs() <= 1.0, "{s:?}");
        assert!((s.max - 1000.0).abs() <= 1.0, "{s:?}");
    }

    #[test]
    fn counts_and_viewer_seconds() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let ok = ViewerResult {
            ttff: Some(Duration::from_millis(30)),
            video_frames: 10,
            lost: 1,
            active: Some((at(1), at(10))),
            ..ViewerResult::default()
        };
        let early = ViewerResult {
            ttff: Some(Duration::from_millis(40)),
            ended_early: true,
            error: Some("reset".into()),
            active: Some((at(3), at(5))),
            ..ViewerResult::default()
        };
        let failed = ViewerResult {
            error: Some("refused".into()),
            ..ViewerResult::default()
        };
        let results = [ok, early, failed];
        let (viewers, frames) = count(4, &results);
        assert_eq!(
            (viewers.connected, viewers.failed, viewers.ended_early),
            (2, 1, 1)
        );
        assert_eq!(viewers.errors.len(), 2);
        assert_eq!((frames.video, frames.lost), (10, 1));
        // Window [2 s, 8 s]: 6 s + 2 s.
        assert_eq!(viewer_seconds(&results, at(2), at(8)), 8.0);
        assert_eq!(mbit_per_s(1_000_000, 8.0), 1.0);
    }

    #[test]
    fn table_and_json_name_every_figure() {
        let report = Report {
            protocol: "flv".into(),
            url: "http://h/live/b.flv".into(),
            viewers: ViewerCounts::default(),
            window_seconds: 2.0,
            window_bytes: 0,
            throughput_mbit_s: 0.0,
            window_media_bytes: None,
            media_mbit_s: None,
            viewer_seconds: 0.0,
            frames: FrameCounts::default(),
            ttff_ms: None,
            latency_ms: Some(Summary {
                count: 3,
                p50: 1.0,
                p99: 2.0,
                max: 3.0,
            }),
            bench_cpu_seconds: Some(0.5),
            server: None,
        };
        let table = report.to_table();
        assert!(table.contains("latency (ms)                 p50 1.0  p99 2.0  max 3.0"));
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["latency_ms"]["p99"], 2.0);
        assert_eq!(json["server"], serde_json::Value::Null);
    }
}
