//! `avrs-sim`: run the cluster simulation from the command line.

use avrs_sim::{AuthKind, SimConfig};
use clap::Parser;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(about = "Deterministic simulation of an avrs cluster (virtual time)")]
struct Args {
    #[arg(long, default_value_t = 200)]
    servers: usize,
    #[arg(long, default_value_t = 100_000)]
    viewers: usize,
    #[arg(long, default_value_t = 4)]
    regions: u16,
    /// Servers killed at 30 s of virtual time (never the origin).
    #[arg(long, default_value_t = 10)]
    kill: usize,
    /// Kill the host as well (servers keep serving without it).
    #[arg(long)]
    kill_host: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Verify real Ed25519 signatures on every gossip datagram (slower).
    #[arg(long)]
    signed: bool,
    /// Gossip datagram loss, per mille.
    #[arg(long, default_value_t = 10)]
    loss: u32,
    /// Children per relay (the origin always feeds at most 4).
    #[arg(long, default_value_t = 8)]
    relay_cap: u16,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn main() {
    let args = Args::parse();
    let mut config = SimConfig::sized(
        args.servers,
        args.viewers,
        args.regions,
        args.kill,
        args.seed,
    );
    config.kill_host = args.kill_host;
    config.loss_permille = args.loss;
    config.cluster.relay_child_cap = args.relay_cap;
    config.auth = if args.signed {
        AuthKind::Signed
    } else {
        AuthKind::Trusted
    };
    let started = Instant::now();
    let report = avrs_sim::run(config);
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("json: {e}"),
        }
    } else {
        print!("{report}");
    }
    eprintln!("wall time: {:.2} s", started.elapsed().as_secs_f64());
}
