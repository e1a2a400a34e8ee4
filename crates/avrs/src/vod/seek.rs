//! `avrs vod seekbench avrs://HOST:PORT/vod/ID --viewers N --seeks M`:
//! native VoD sessions that start at a random position, then seek to random
//! positions; reports the time from each request to the first frame of the
//! new position (p50/p99) and how many landed within one group of pictures.
//!
//! Each viewer is a real player: it checks every frame's signature.

use anyhow::{Result, bail};
use avrs_node::native::client::{ClientOptions, PlayedFrame, Session, Watch};
use std::time::{Duration, Instant};

/// Longest a start or seek may take before it counts as failed.
const PATIENCE: Duration = Duration::from_secs(10);
const TICKS: f64 = 90_000.0;

#[derive(Debug, clap::Args)]
pub struct SeekArgs {
    /// avrs://HOST:PORT/vod/ID
    url: String,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 20)]
    viewers: usize,
    /// Seeks per session after the start.
    #[arg(long, default_value_t = 10)]
    seeks: usize,
    /// Positions are drawn from 0 to this many seconds (keep it inside the
    /// VoD's duration).
    #[arg(long, default_value_t = 30.0)]
    span: f64,
    /// The VoD's group of pictures, seconds: a landing is "within one group"
    /// when the first keyframe is at most this far before the position.
    #[arg(long, default_value_t = 2.0)]
    gop: f64,
}

/// What one session measured.
#[derive(Debug, Default)]
struct Tally {
    to_first_frame: Vec<Duration>,
    within_gop: usize,
    outside_gop: usize,
}

pub async fn run(args: SeekArgs) -> Result<()> {
    let span_ok = args.span.is_finite() && args.span > 0.0;
    if args.viewers == 0 || args.viewers > 10_000 || !span_ok {
        bail!("--viewers must be 1 to 10000 and --span positive");
    }
    let (authority, name) = crate::play::parse_url(&args.url)?;
    let address = crate::play::resolve(&authority).await?;
    let mut sessions = tokio::task::JoinSet::new();
    for index in 0..args.viewers {
        let (name, span, gop, seeks) = (name.clone(), args.span, args.gop, args.seeks);
        sessions.spawn(async move {
            let mut positions = Positions::new(index as u64 + 1, span);
            session(address, &name, seeks, gop, &mut positions).await
        });
    }
    let mut total = Tally::default();
    let mut errors = Vec::new();
    while let Some(joined) = sessions.join_next().await {
        match joined? {
            Ok(tally) => {
                total.to_first_frame.extend(tally.to_first_frame);
                total.within_gop += tally.within_gop;
                total.outside_gop += tally.outside_gop;
            }
            Err(err) => errors.push(format!("{err:#}")),
        }
    }
    report(&args, &mut total, &errors);
    Ok(())
}

async fn session(
    address: std::net::SocketAddr,
    name: &str,
    seeks: usize,
    gop: f64,
    positions: &mut Positions,
) -> Result<Tally> {
    let mut tally = Tally::default();
    let start = positions.next();
    let asked = Instant::now();
    let session = Session::connect(address, ClientOptions::default()).await?;
    let mut watch = session.watch_vod(name, start, None).await?;
    let first = next_frame(&mut watch, |_| true).await?;
    tally.record(asked.elapsed(), &first, start, gop);
    for _ in 0..seeks {
        let target = positions.next();
        let asked = Instant::now();
        watch.control(None, Some(target)).await?;
        // Frames of the old position may still be in flight: the new one
        // starts at the frame the server marks DISCONTINUITY.
        let landed = next_frame(&mut watch, |f| f.discontinuity).await?;
        tally.record(asked.elapsed(), &landed, target, gop);
    }
    watch.close().await;
    Ok(tally)
}

async fn next_frame(
    watch: &mut Watch,
    wanted: impl Fn(&PlayedFrame) -> bool,
) -> Result<PlayedFrame> {
    let search = async {
        loop {
            match watch.next_frame().await? {
                Some(frame) if wanted(&frame) => return Ok(frame),
                Some(_) => {}
                None => bail!("the VoD ended before the position was reached"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, search)
        .await
        .map_err(|_| anyhow::anyhow!("no frame within {PATIENCE:?}"))?
}

impl Tally {
    fn record(&mut self, took: Duration, frame: &PlayedFrame, target: u64, gop: f64) {
        self.to_first_frame.push(took);
        let pts = frame.media.pts as f64 / TICKS;
        let position = target as f64 / TICKS;
        // A small tolerance for B-frame reordering at the keyframe.
        if pts <= position + 0.1 && pts > position - gop - 0.1 {
            self.within_gop += 1;
        } else {
            self.outside_gop += 1;
        }
    }
}

/// Random positions (xorshift: deterministic per session, no dependency).
struct Positions {
    state: u64,
    span: f64,
}

impl Positions {
    fn new(seed: u64, span: f64) -> Self {
        Self {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            span,
        }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let unit = (self.state >> 11) as f64 / (1u64 << 53) as f64;
        (unit * self.span * TICKS) as u64
    }
}

fn report(args: &SeekArgs, total: &mut Tally, errors: &[String]) {
    total.to_first_frame.sort();
    let at = |q: f64| -> f64 {
        let times = &total.to_first_frame;
        if times.is_empty() {
            return f64::NAN;
        }
        let index = ((times.len() as f64 - 1.0) * q).round() as usize;
        times[index].as_secs_f64() * 1000.0
    };
    println!(
        "vod seekbench: {} sessions × (start + {} seeks): {} measured, {} failed sessions",
        args.viewers,
        args.seeks,
        total.to_first_frame.len(),
        errors.len()
    );
    println!(
        "request → first frame: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.5),
        at(0.99),
        at(1.0)
    );
    println!(
        "landed within one group of pictures: {} of {}",
        total.within_gop,
        total.within_gop + total.outside_gop
    );
    for error in errors.iter().take(5) {
        println!("error: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_stay_in_the_span_and_repeat_per_seed() {
        let mut a = Positions::new(7, 30.0);
        let mut b = Positions::new(7, 30.0);
        for _ in 0..1000 {
            let position = a.next();
            assert_eq!(position, b.next());
            assert!(position < (30.0 * TICKS) as u64);
        }
        assert_ne!(
            Positions::new(1, 30.0).next(),
            Positions::new(2, 30.0).next()
        );
    }
}
