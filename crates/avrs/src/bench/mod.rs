//! `avrs bench`: many viewers of one stream, and what they saw.
//!
//! A run has three phases: the ramp (viewer `i` connects at `i / rate`
//! seconds), the settle time (every viewer gets its first keyframe), and
//! the measured window of `--duration` seconds. Throughput, latency and
//! the server's CPU and memory are taken over the window only, so
//! connection set-up does not blur the steady state. Frame counts, losses
//! and time to first frame cover the whole run.
//!
//! The bench shares a small machine with the server, so it does as little
//! as possible per byte: no decoding, one read into a large buffer per
//! wake-up, a stamp search in the NAL units before the first slice only.

mod cluster;
mod flv_viewer;
mod fmp4;
mod hls_viewer;
mod http;
mod native;
mod opens;
mod playlist;
mod proc_stats;
mod report;
pub mod rtmp_client;
mod rtmp_viewer;
pub mod sei;
pub mod url;
mod viewer;

use anyhow::{Context, Result, bail};
use report::{Report, ServerReport, Summary};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};
use url::{HttpUrl, RtmpUrl};
use viewer::{Shared, Viewer, ViewerResult};

/// Read buffer per viewer: a whole keyframe of a few Mbit/s stream.
const READ_BUF: usize = 64 * 1024;

/// Flags of `avrs bench` (viewers of one stream), or one of its other
/// modes as a subcommand.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub mode: Option<BenchMode>,
    /// The stream: http://HOST:PORT/live/NAME.flv (HTTP-FLV),
    /// rtmp://HOST:PORT/APP/NAME (RTMP play),
    /// http://HOST:PORT/live/NAME/index.m3u8 (LL-HLS) or
    /// avrs://HOST:PORT/live/NAME (native AVRS over QUIC).
    #[arg(long, required = true)]
    pub url: Option<String>,
    /// Concurrent viewers.
    #[arg(long, default_value_t = 100)]
    pub viewers: usize,
    /// Length of the measured window, seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub duration: f64,
    /// Protocol; by default from the URL (rtmp://, avrs://, .flv, .m3u8).
    #[arg(long, value_enum)]
    pub protocol: Option<Protocol>,
    /// Viewers started per second; 0 starts them all at once.
    #[arg(long, default_value_t = 500.0, value_name = "PER_SEC")]
    pub ramp_rate: f64,
    /// Seconds between the last viewer's start and the window.
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    pub settle: f64,
    /// Server process to measure (CPU, RSS), with its descendants; repeat
    /// for several.
    #[arg(long, value_name = "PID")]
    pub server_pid: Vec<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Runtime threads; by default the CPUs this process may run on.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Native viewers check every frame's signature, as `avrs play` does
    /// (by default the simulated players skip it).
    #[arg(long)]
    pub verify: bool,
    /// Native viewers open the sealed frames of an ENCRYPTED content, as
    /// `avrs play` does. By default they count them unopened, so the run
    /// measures the server's delivery, not the players' decryption; no
    /// latency is measured then (the stamps are sealed) and losses are
    /// counted from the frames' positions in the content.
    #[arg(long)]
    pub unseal: bool,
    /// Access token each native viewer sends in its OPEN
    /// (`[auth] play = token`).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

/// Other modes of `avrs bench`.
#[derive(Debug, clap::Subcommand)]
pub enum BenchMode {
    /// Native session opens per second: QUIC connection, signed OPEN and
    /// CONTENT_ADD, then close; latency of each.
    Opens(opens::OpensArgs),
    /// A multi-process cluster on loopback: origin egress copies against
    /// the number of edges, and viewer failover when an edge is killed.
    Cluster(cluster::ClusterArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// HTTP-FLV.
    Flv,
    /// RTMP play.
    Rtmp,
    /// LL-HLS (fMP4 parts, blocking playlist reload).
    Hls,
    /// Native AVRS over QUIC.
    Native,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Self::Flv => "flv",
            Self::Rtmp => "rtmp",
            Self::Hls => "hls",
            Self::Native => "native",
        }
    }

    /// From the URL: the scheme for RTMP and native, else the path's suffix.
    fn infer(url: &str) -> Result<Self> {
        let path = url.split(['?', '#']).next().unwrap_or(url);
        if url.starts_with("rtmp://") {
            Ok(Self::Rtmp)
        } else if url.starts_with("avrs://") {
            Ok(Self::Native)
        } else if path.ends_with(".flv") {
            Ok(Self::Flv)
        } else if path.ends_with(".m3u8") {
            Ok(Self::Hls)
        } else {
            bail!("cannot tell the protocol from {url}; give --protocol")
        }
    }
}

/// Where viewers connect, parsed once.
#[derive(Debug)]
enum Target {
    Flv(HttpUrl),
    Rtmp(RtmpUrl),
    Hls(HttpUrl),
    Native(native::NativeTarget),
}

impl Target {
    fn new(protocol: Protocol, url: &str) -> Result<Self> {
        match protocol {
            Protocol::Flv => Ok(Self::Flv(HttpUrl::parse(url)?)),
            Protocol::Rtmp => Ok(Self::Rtmp(RtmpUrl::parse(url)?)),
            Protocol::Hls => Ok(Self::Hls(HttpUrl::parse(url)?)),
            Protocol::Native => Ok(Self::Native(native::NativeTarget::parse(url)?)),
        }
    }
}

pub fn run(args: BenchArgs) -> Result<()> {
    match args.mode {
        Some(BenchMode::Opens(opens)) => return opens::run(opens),
        Some(BenchMode::Cluster(cluster)) => return cluster::run(cluster),
        None => {}
    }
    let url = args.url.as_deref().context("--url is required")?;
    let protocol = match args.protocol {
        Some(p) => p,
        None => Protocol::infer(url)?,
    };
    let mut target = Target::new(protocol, url)?;
    match &mut target {
        Target::Native(native) => {
            native.verify = args.verify;
            native.unseal = args.unseal;
            native.token = args.token.clone();
        }
        _ if args.verify || args.unseal || args.token.is_some() => {
            bail!(
                "--verify, --unseal and --token are for native viewers (avrs://); put an HTTP or RTMP token in the URL (?token=)"
            )
        }
        _ => {}
    }
    if args.viewers == 0 {
        bail!("--viewers must be at least 1");
    }
    let sane = |x: f64, min: f64| x.is_finite() && x >= min && x < 1e9;
    let ramp_ok = args.ramp_rate == 0.0 || sane(args.ramp_rate, 1e-3);
    if !(sane(args.duration, 1e-3) && sane(args.settle, 0.0) && ramp_ok) {
        bail!("--duration must be positive, --settle not negative, --ramp-rate 0 or positive");
    }
    let runtime = runtime(args.threads)?;
    let report = runtime.block_on(bench(&args, protocol, target))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table());
    }
    if report.viewers.connected == 0 {
        bail!("no viewer received a video frame");
    }
    Ok(())
}

/// The async runtime: `threads` workers, by default the CPUs this process
/// may run on.
fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime> {
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .context("cannot start the async runtime")
}

/// The server's processes and how to read their clocks.
struct Server {
    pids: BTreeSet<u32>,
    ticks: f64,
}

impl Server {
    fn sample(&self) -> Result<proc_stats::Sample> {
        proc_stats::sample(&self.pids, self.ticks)
    }
}

async fn bench(args: &BenchArgs, protocol: Protocol, target: Target) -> Result<Report> {
    let ticks = proc_stats::ticks_per_second();
    let server = (!args.server_pid.is_empty()).then(|| Server {
        pids: proc_stats::with_descendants(&args.server_pid),
        ticks,
    });
    let me = Server {
        pids: BTreeSet::from([std::process::id()]),
        ticks,
    };
    let server_before = server.as_ref().map(Server::sample).transpose()?;

    let shared = Shared::new();
    let t0 = Instant::now();
    let step = if args.ramp_rate > 0.0 {
        Duration::from_secs_f64(1.0 / args.ramp_rate)
    } else {
        Duration::ZERO
    };
    let ramp = step * u32::try_from(args.viewers - 1).unwrap_or(u32::MAX);
    let window_start = t0 + ramp + Duration::from_secs_f64(args.settle);
    let window_end = window_start + Duration::from_secs_f64(args.duration);
    let target = Arc::new(target);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..args.viewers {
        let start = t0 + step * u32::try_from(i).unwrap_or(u32::MAX);
        tasks.spawn(one_viewer(
            shared.clone(),
            target.clone(),
            start,
            window_end,
        ));
    }

    sleep_until(window_start).await;
    let start_cpu = (
        server.as_ref().map(Server::sample).transpose()?,
        me.sample().ok(),
    );
    let started = Instant::now();
    shared.in_window.store(true, Ordering::Relaxed);
    let bytes_before = shared.bytes.load(Ordering::Relaxed);
    let media_before = shared.media_bytes.load(Ordering::Relaxed);

    sleep_until(window_end).await;
    shared.in_window.store(false, Ordering::Relaxed);
    let ended = Instant::now();
    let bytes = shared.bytes.load(Ordering::Relaxed) - bytes_before;
    let media_bytes = shared.media_bytes.load(Ordering::Relaxed) - media_before;
    let end_cpu = (
        server.as_ref().map(Server::sample).transpose()?,
        me.sample().ok(),
    );

    let mut results = Vec::with_capacity(args.viewers);
    while let Some(result) = tasks.join_next().await {
        results.push(result.context("a viewer task panicked")?);
    }
    if let Target::Native(native) = &*target {
        native.close().await;
    }
    let window = (ended - started).as_secs_f64();
    let (viewers, frames) = report::count(args.viewers, &results);
    let viewer_seconds = report::viewer_seconds(&results, started.into_std(), ended.into_std());
    let server = match (server, server_before, start_cpu.0, end_cpu.0) {
        (Some(server), Some(before), Some(start), Some(end)) => {
            let cpu_seconds = end.cpu_seconds - start.cpu_seconds;
            Some(ServerReport {
                pids: server.pids.into_iter().collect(),
                cpu_seconds,
                viewer_seconds_per_cpu_second: (cpu_seconds > 0.0)
                    .then(|| viewer_seconds / cpu_seconds),
                rss_before_kib: before.rss_kib,
                rss_after_kib: end.rss_kib,
                rss_per_viewer_kib: (viewers.connected > 0).then(|| {
                    (end.rss_kib as f64 - before.rss_kib as f64) / viewers.connected as f64
                }),
            })
        }
        _ => None,
    };
    let ttff = Summary::from_micros(&shared.ttff.lock().unwrap_or_else(|e| e.into_inner()));
    let latency = Summary::from_micros(&shared.latency.lock().unwrap_or_else(|e| e.into_inner()));
    let native = protocol == Protocol::Native;
    Ok(Report {
        protocol: protocol.name().into(),
        url: args.url.clone().unwrap_or_default(),
        viewers,
        window_seconds: window,
        window_bytes: bytes,
        throughput_mbit_s: report::mbit_per_s(bytes, window),
        window_media_bytes: native.then_some(media_bytes),
        media_mbit_s: native.then(|| report::mbit_per_s(media_bytes, window)),
        viewer_seconds,
        frames,
        ttff_ms: ttff,
        latency_ms: latency,
        bench_cpu_seconds: start_cpu
            .1
            .zip(end_cpu.1)
            .map(|(start, end)| end.cpu_seconds - start.cpu_seconds),
        server,
    })
}

/// One viewer from its start time to `end`.
async fn one_viewer(
    shared: Arc<Shared>,
    target: Arc<Target>,
    start: Instant,
    end: Instant,
) -> ViewerResult {
    sleep_until(start).await;
    let mut viewer = Viewer::start(shared);
    // Connecting counts against the run too: a server that never answers
    // must not hold the bench past its end.
    let outcome = match &*target {
        Target::Flv(url) => {
            tokio::time::timeout_at(end, flv_viewer::run(url, &mut viewer, end)).await
        }
        Target::Rtmp(url) => {
            tokio::time::timeout_at(end, rtmp_viewer::run(url, &mut viewer, end)).await
        }
        Target::Hls(url) => {
            tokio::time::timeout_at(end, hls_viewer::run(url, &mut viewer, end)).await
        }
        Target::Native(target) => {
            tokio::time::timeout_at(end, native::run(target, &mut viewer, end)).await
        }
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        // The timer and the viewer's own end fired together.
        Err(_) if viewer.has_frames() => Ok(viewer::Ended::Deadline),
        Err(_) => Err(anyhow::anyhow!("no stream before the end")),
    };
    viewer.finish(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_from_url() {
        let infer = |u| Protocol::infer(u).ok();
        assert_eq!(infer("rtmp://h/live/b"), Some(Protocol::Rtmp));
        assert_eq!(infer("http://h:1/live/b.flv?x=1"), Some(Protocol::Flv));
        assert_eq!(infer("http://h/live/b/index.m3u8"), Some(Protocol::Hls));
        assert_eq!(infer("avrs://h:4433/live/b"), Some(Protocol::Native));
        assert_eq!(infer("http://h/live/b"), None);
    }
}
