//! `avrs bench cluster`: a real multi-process cluster on loopback (1 host,
//! 1 balancer, N servers, each an `avrs serve` child of this process), one
//! synthetic stream published at one server (the origin), and native
//! viewers on every other server (the edges). It measures:
//!
//! - **origin egress copies** against the number of edges: the relays the
//!   origin feeds once every edge plays (the relay tree keeps them at
//!   `origin_child_cap` however many servers there are), the deepest
//!   relay, and how long the edges took to play. The cluster is grown to
//!   each `--edges` value in turn (one cluster, servers added between
//!   rows), as a real cluster grows.
//! - **viewer failover**: viewers that entered through the balancer, as
//!   `avrs play --balance` does, pinned to one edge; that edge is
//!   SIGKILLed and each viewer's time from the kill to its first new frame
//!   from another server is taken. Each round kills a different edge and
//!   starts it again afterwards.
//!
//! Every child is killed on every exit path (their guards drop), Ctrl-C
//! included.

mod api;
mod balanced;
mod edge_viewers;
mod egress;
mod failover;
mod node;
mod report;
mod setup;

use anyhow::{Result, bail};
use avrs_node::cluster::ClusterOptions;
use avrs_proto::avrs::Roles;
use balanced::FAILOVER_LIMIT;
use report::{ClusterReport, FailoverReport, Setup};
use setup::{Cluster, Settings};
use std::time::Duration;

/// The content every viewer watches.
const STREAM: &str = "live/bench";
/// More servers than this on one machine measures the machine.
const MAX_EDGES: usize = 64;

/// Flags of `avrs bench cluster`.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// Numbers of edges to measure, smallest first (the cluster grows).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "2,4,8,12",
        value_name = "N,N,..."
    )]
    pub edges: Vec<usize>,
    /// Native viewers on each edge, straight at the edge.
    #[arg(long, default_value_t = 5)]
    pub viewers_per_edge: usize,
    /// Viewers through the balancer on the edge each failover round kills.
    #[arg(long, default_value_t = 50)]
    pub failover_viewers: usize,
    /// Failover rounds, each killing a different edge (0: none).
    #[arg(long, default_value_t = 3)]
    pub failover_rounds: usize,
    /// Gossip heartbeat of every node, milliseconds.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    pub heartbeat_ms: u64,
    /// The synthetic clip: low (~0.75 Mbit/s) or high (~2.5 Mbit/s).
    #[arg(long, value_enum, default_value = "low")]
    pub bitrate_class: Bitrate,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Runtime threads of the viewers; by default the CPUs this process
    /// may run on.
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Bitrate {
    Low,
    High,
}

impl Bitrate {
    fn name(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::High => "high",
        }
    }
}

pub fn run(mut args: ClusterArgs) -> Result<()> {
    check(&mut args)?;
    let runtime = super::runtime(args.threads)?;
    let report = runtime.block_on(async {
        tokio::select! {
            report = bench(&args) => report,
            // The cluster is dropped with the bench: every node is killed.
            _ = tokio::signal::ctrl_c() => bail!("interrupted; every node was stopped"),
        }
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table());
    }
    if report.egress.iter().all(|row| row.edges_playing == 0) {
        bail!("no edge played the stream");
    }
    Ok(())
}

/// Sorts the edge counts and refuses what cannot run.
fn check(args: &mut ClusterArgs) -> Result<()> {
    args.edges.sort_unstable();
    args.edges.dedup();
    let (Some(&fewest), Some(&most)) = (args.edges.first(), args.edges.last()) else {
        bail!("--edges needs at least one number");
    };
    if fewest == 0 || most > MAX_EDGES {
        bail!("--edges: from 1 to {MAX_EDGES} edges");
    }
    if args.viewers_per_edge == 0 {
        bail!("--viewers-per-edge must be at least 1");
    }
    if !(100..=60_000).contains(&args.heartbeat_ms) {
        bail!("--heartbeat-ms: from 100 to 60000");
    }
    if args.failover_rounds > 0 {
        if args.failover_viewers == 0 {
            bail!("--failover-viewers must be at least 1 (or --failover-rounds 0)");
        }
        if most < 2 {
            bail!("failover needs at least 2 edges: one to kill, one to resume on");
        }
        // Pinned by excluding the origin and every other edge.
        balanced::check_pin(most)?;
    }
    Ok(())
}

async fn bench(args: &ClusterArgs) -> Result<ClusterReport> {
    let settings = Settings {
        heartbeat: Duration::from_millis(args.heartbeat_ms),
        bitrate: args.bitrate_class.name().into(),
        name: STREAM.into(),
    };
    let most = args.edges.last().copied().unwrap_or(0);
    let mut cluster = Cluster::start(settings, most + 1).await?;
    let mut egress = Vec::new();
    for &edges in &args.edges {
        let row = egress::measure(&mut cluster, edges, args.viewers_per_edge).await?;
        if !args.json {
            let depth = row.max_depth.map_or("-".into(), |d| d.to_string());
            eprintln!(
                "{edges} edges: origin egress copies {}, max depth {depth}",
                row.origin_egress_copies
            );
        }
        egress.push(row);
    }
    let failover = match args.failover_rounds {
        0 => None,
        rounds => Some(failover_rounds(&mut cluster, args, rounds).await?),
    };
    let defaults = ClusterOptions::loopback(Roles::SERVER, None);
    Ok(ClusterReport {
        setup: Setup {
            hosts: 1,
            balancers: 1,
            servers: cluster.servers.len(),
            heartbeat_ms: args.heartbeat_ms,
            origin_child_cap: defaults.origin_child_cap,
            relay_child_cap: defaults.relay_child_cap,
            stream: STREAM.into(),
            bitrate_class: args.bitrate_class.name().into(),
            viewers_per_edge: args.viewers_per_edge,
            cluster: "grown".into(),
        },
        egress,
        failover,
    })
}

/// `rounds` failover rounds; round `r` kills edge `1 + r % edges`.
async fn failover_rounds(
    cluster: &mut Cluster,
    args: &ClusterArgs,
    rounds: usize,
) -> Result<FailoverReport> {
    cluster.wait_balancer_knows_all().await?;
    let mut all = failover::Samples::default();
    let mut done = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let victim = 1 + r % cluster.edges();
        let round = failover::round(
            cluster,
            victim,
            args.failover_viewers,
            args.viewers_per_edge,
            &mut all,
        )
        .await?;
        if !args.json {
            eprintln!(
                "failover round {}: {} killed, {}/{} resumed",
                r + 1,
                round.victim,
                round.resumed,
                round.on_victim
            );
        }
        done.push(round);
    }
    let measured = done.iter().map(|r| r.on_victim).sum();
    let resumed = done.iter().map(|r| r.resumed).sum();
    Ok(FailoverReport {
        viewers_per_round: args.failover_viewers,
        limit_ms: egress::ms(FAILOVER_LIMIT),
        rounds: done,
        measured,
        resumed,
        not_resumed: measured - resumed,
        detect_ms: super::report::Summary::from_micros(&all.detect),
        rewatch_ms: super::report::Summary::from_micros(&all.rewatch),
        failover_ms: super::report::Summary::from_micros(&all.failover),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: ClusterArgs,
    }

    fn checked(line: &[&str]) -> Result<ClusterArgs> {
        let mut all = vec!["cluster"];
        all.extend_from_slice(line);
        let mut args = Cli::try_parse_from(all)?.args;
        check(&mut args)?;
        Ok(args)
    }

    #[test]
    fn edge_counts_are_sorted_and_what_cannot_run_is_refused() {
        let args = checked(&["--edges", "8,2,4,2"]).unwrap();
        assert_eq!(args.edges, [2, 4, 8]);
        assert_eq!(checked(&[]).unwrap().edges, [2, 4, 8, 12]);
        assert!(checked(&["--edges", "1", "--failover-rounds", "0"]).is_ok());
        for bad in [
            &["--edges", "0"][..],
            &["--edges", "1"],
            &["--edges", "17"],
            &["--edges", "65", "--failover-rounds", "0"],
            &["--heartbeat-ms", "10"],
            &["--failover-viewers", "0"],
        ] {
            assert!(checked(bad).is_err(), "{bad:?}");
        }
    }
}
