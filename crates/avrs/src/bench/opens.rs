//! `avrs bench opens`: how many native sessions one node opens per second.
//!
//! Each session is what a player does before its first frame: a new QUIC
//! connection (TLS 1.3 handshake), a session OPEN signed with a fresh
//! Ed25519 key and bound to the connection (with the access token when
//! one is given), and a CONTENT_ADD of the live content, whose reply ends
//! the measurement. The connection is then closed. `--concurrency` workers
//! run sessions back to back until `--sessions` have been tried.
//!
//! Latency is from the start of the connect to the CONTENT_ADD reply (or
//! the OPEN reply with `--open-only`); the rate is completed sessions over
//! the time from the first connect to the last reply. Both include the
//! client's own work (handshake, key generation, OPEN signature), done on
//! the same machine.

use super::native::{NativeTarget, close_endpoints, new_endpoint};
use super::proc_stats;
use super::report::Summary;
use super::viewer::{micros, new_histogram};
use anyhow::{Context, Result, bail};
use avrs_node::native::client::{ClientOptions, Endpoint, Session};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// Concurrent sessions per QUIC endpoint (UDP socket), as for viewers.
const SESSIONS_PER_ENDPOINT: usize = 64;
/// Distinct error messages kept in the report.
const MAX_ERRORS: usize = 10;

/// Flags of `avrs bench opens`.
#[derive(Debug, clap::Args)]
pub struct OpensArgs {
    /// The live content: avrs://HOST:PORT/live/NAME.
    pub url: String,
    /// Sessions to open in all.
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// Sessions in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Access token sent in every OPEN (`[auth] play = token`).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Stop at the OPEN's reply: no CONTENT_ADD.
    #[arg(long)]
    pub open_only: bool,
    /// Server process to measure (CPU), with its descendants; repeat for
    /// several.
    #[arg(long, value_name = "PID")]
    pub server_pid: Vec<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Runtime threads; by default the CPUs this process may run on.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// What `avrs bench opens` reports; times are milliseconds.
#[derive(Debug, Serialize)]
pub struct OpensReport {
    pub url: String,
    /// `open+content_add`, or `open` with `--open-only`.
    pub measured: String,
    pub token: bool,
    pub concurrency: usize,
    pub sessions: SessionCounts,
    /// From the first connect to the last reply, seconds.
    pub elapsed_seconds: f64,
    /// Completed sessions per second of `elapsed_seconds`.
    pub opens_per_second: f64,
    /// Connect start to the reply, completed sessions only.
    pub latency_ms: Option<Summary>,
    /// The bench process's own CPU over the run.
    pub bench_cpu_seconds: Option<f64>,
    pub server: Option<OpensServer>,
}

#[derive(Debug, Default, Serialize)]
pub struct SessionCounts {
    pub requested: usize,
    /// Got a success reply.
    pub completed: usize,
    /// Refused, timed out or broken.
    pub failed: usize,
    /// Distinct errors and how many sessions hit each.
    pub errors: BTreeMap<String, usize>,
}

#[derive(Debug, Serialize)]
pub struct OpensServer {
    pub pids: Vec<u32>,
    /// CPU (user + system) the server used over the run.
    pub cpu_seconds: f64,
    /// `cpu_seconds` per completed session, milliseconds.
    pub cpu_ms_per_session: Option<f64>,
}

pub fn run(args: OpensArgs) -> Result<()> {
    if args.sessions == 0 || args.concurrency == 0 {
        bail!("--sessions and --concurrency must be at least 1");
    }
    let target = NativeTarget::parse(&args.url)?;
    let runtime = super::runtime(args.threads)?;
    let report = runtime.block_on(opens(&args, target))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table());
    }
    if report.sessions.completed == 0 {
        bail!("no session was opened");
    }
    Ok(())
}

/// What the workers share.
struct Run {
    target: NativeTarget,
    token: Option<String>,
    open_only: bool,
    sessions: usize,
    /// Sessions started so far.
    next: AtomicUsize,
    latency: Mutex<Histogram<u64>>,
    errors: Mutex<Vec<String>>,
    /// When the last reply came.
    last: Mutex<Option<Instant>>,
}

async fn opens(args: &OpensArgs, target: NativeTarget) -> Result<OpensReport> {
    let ticks = proc_stats::ticks_per_second();
    let server_pids = proc_stats::with_descendants(&args.server_pid);
    let me = BTreeSet::from([std::process::id()]);
    let sample = |pids: &BTreeSet<u32>| {
        (!pids.is_empty())
            .then(|| proc_stats::sample(pids, ticks))
            .transpose()
    };
    let concurrency = args.concurrency.min(args.sessions);
    let endpoints = (0..concurrency.div_ceil(SESSIONS_PER_ENDPOINT))
        .map(|_| new_endpoint(target.address))
        .collect::<Result<Vec<_>>>()?;
    let run = Arc::new(Run {
        target,
        token: args.token.clone(),
        open_only: args.open_only,
        sessions: args.sessions,
        next: AtomicUsize::new(0),
        latency: Mutex::new(new_histogram()),
        errors: Mutex::new(Vec::new()),
        last: Mutex::new(None),
    });

    let server_before = sample(&server_pids)?;
    let bench_before = sample(&me).ok().flatten();
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let endpoint = endpoints[worker / SESSIONS_PER_ENDPOINT].clone();
        workers.spawn(work(run.clone(), endpoint));
    }
    while let Some(done) = workers.join_next().await {
        done.context("an opening task panicked")?;
    }
    let server_after = sample(&server_pids)?;
    let bench_after = sample(&me).ok().flatten();
    close_endpoints(&endpoints).await;

    let last = (*run.last.lock().unwrap_or_else(|e| e.into_inner())).unwrap_or(started);
    let elapsed = (last - started).as_secs_f64();
    let latency = run.latency.lock().unwrap_or_else(|e| e.into_inner());
    let errors = run.errors.lock().unwrap_or_else(|e| e.into_inner());
    let sessions = counts(args.sessions, latency.len(), &errors);
    let completed = sessions.completed;
    let server = match (server_before, server_after) {
        (Some(before), Some(after)) => {
            let cpu_seconds = after.cpu_seconds - before.cpu_seconds;
            Some(OpensServer {
                pids: server_pids.into_iter().collect(),
                cpu_seconds,
                cpu_ms_per_session: (completed > 0)
                    .then(|| cpu_seconds * 1000.0 / completed as f64),
            })
        }
        _ => None,
    };
    Ok(OpensReport {
        url: args.url.clone(),
        measured: if args.open_only {
            "open"
        } else {
            "open+content_add"
        }
        .into(),
        token: args.token.is_some(),
        concurrency,
        sessions,
        elapsed_seconds: elapsed,
        opens_per_second: if elapsed > 0.0 {
            completed as f64 / elapsed
        } else {
            0.0
        },
        latency_ms: Summary::from_micros(&latency),
        bench_cpu_seconds: bench_before
            .zip(bench_after)
            .map(|(before, after)| after.cpu_seconds - before.cpu_seconds),
        server,
    })
}

/// One worker: sessions back to back until all have been started.
async fn work(run: Arc<Run>, endpoint: Endpoint) {
    while run.next.fetch_add(1, Ordering::Relaxed) < run.sessions {
        let start = Instant::now();
        let outcome = one_session(&run, &endpoint).await;
        let now = Instant::now();
        match outcome {
            Ok(()) => {
                let mut latency = run.latency.lock().unwrap_or_else(|e| e.into_inner());
                latency.saturating_record(micros(now - start).max(1));
            }
            Err(err) => run
                .errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("{err:#}")),
        }
        let mut last = run.last.lock().unwrap_or_else(|e| e.into_inner());
        *last = Some(last.map_or(now, |l| l.max(now)));
    }
}

/// Connect, OPEN, CONTENT_ADD (unless `open_only`), close.
async fn one_session(run: &Run, endpoint: &Endpoint) -> Result<()> {
    let options = ClientOptions {
        token: run.token.clone(),
        verify_signatures: false,
        ..ClientOptions::default()
    };
    let mut session = Session::connect_on(endpoint, run.target.address, options).await?;
    if run.open_only {
        let opened = session.opened().await;
        session.connection().close(0u32.into(), b"done");
        return opened;
    }
    // Dropping the watch closes its connection.
    session.watch(&run.target.name).await.map(drop)
}

/// Session totals from the latencies recorded and the errors.
fn counts(requested: usize, completed: u64, errors: &[String]) -> SessionCounts {
    let mut counts = SessionCounts {
        requested,
        completed: usize::try_from(completed).unwrap_or(usize::MAX),
        failed: errors.len(),
        errors: BTreeMap::new(),
    };
    for error in errors {
        let known = counts.errors.len();
        match counts.errors.get_mut(error) {
            Some(n) => *n += 1,
            None if known < MAX_ERRORS => {
                counts.errors.insert(error.clone(), 1);
            }
            None => *counts.errors.entry("(other errors)".into()).or_default() += 1,
        }
    }
    counts
}

impl OpensReport {
    /// The report as aligned lines for a terminal.
    pub fn to_table(&self) -> String {
        let mut t = String::new();
        let s = &self.sessions;
        let mut row = |name: &str, value: String| {
            let _ = writeln!(t, "{name:<24} {value}");
        };
        row("url", self.url.clone());
        row(
            "measured",
            format!(
                "{}{}, concurrency {}",
                self.measured,
                if self.token { " with a token" } else { "" },
                self.concurrency
            ),
        );
        row(
            "sessions",
            format!(
                "{} requested, {} completed, {} failed",
                s.requested, s.completed, s.failed
            ),
        );
        row("elapsed", format!("{:.2} s", self.elapsed_seconds));
        row("opens per second", format!("{:.1}", self.opens_per_second));
        row(
            "latency (ms)",
            match &self.latency_ms {
                Some(l) => format!(
                    "p50 {:.1}  p99 {:.1}  max {:.1}  ({} samples)",
                    l.p50, l.p99, l.max, l.count
                ),
                None => "-".into(),
            },
        );
        if let Some(cpu) = self.bench_cpu_seconds {
            row("bench CPU", format!("{cpu:.2} s"));
        }
        if let Some(server) = &self.server {
            row("server pids", format!("{:?}", server.pids));
            row("server CPU", format!("{:.2} s", server.cpu_seconds));
            row(
                "server CPU per session",
                server
                    .cpu_ms_per_session
                    .map_or("-".into(), |ms| format!("{ms:.2} ms")),
            );
        }
        for (error, n) in &s.errors {
            row("error", format!("{n} × {error}"));
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sessions_and_keeps_distinct_errors() {
        let mut errors = vec!["refused".to_owned(); 3];
        errors.extend((0..12).map(|i| format!("error {i}")));
        let counts = counts(20, 5, &errors);
        assert_eq!((counts.completed, counts.failed), (5, 15));
        assert_eq!(counts.errors["refused"], 3);
        assert_eq!(counts.errors.len(), MAX_ERRORS + 1);
        assert_eq!(counts.errors["(other errors)"], 3);
    }

    #[test]
    fn the_table_names_every_figure() {
        let report = OpensReport {
            url: "avrs://h:1/live/b".into(),
            measured: "open+content_add".into(),
            token: true,
            concurrency: 4,
            sessions: counts(2, 1, &["refused".into()]),
            elapsed_seconds: 0.5,
            opens_per_second: 2.0,
            latency_ms: Some(Summary {
                count: 1,
                p50: 3.0,
                p99: 3.0,
                max: 3.0,
            }),
            bench_cpu_seconds: Some(0.1),
            server: None,
        };
        let table = report.to_table();
        assert!(table.contains("open+content_add with a token, concurrency 4"));
        assert!(table.contains("opens per second         2.0"));
        assert!(table.contains("1 × refused"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["sessions"]["completed"], 1);
        assert_eq!(json["latency_ms"]["p99"], 3.0);
    }
}
