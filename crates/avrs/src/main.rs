//! The `avrs` command. `main` only parses arguments and dispatches: each
//! subcommand lives in its own module.

use clap::{Parser, Subcommand};

mod bench;
mod cert;
mod cluster;
mod keygen;
mod mfa;
mod node_key;
mod play;
mod publish;
mod serve;
mod stream_key;
mod token;
mod vod;

#[derive(Debug, Parser)]
#[command(
    name = "avrs",
    version,
    about = "AVRE Stream: distributed, signed audio/video streaming"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node (an embedded single-node cluster when no config is given).
    Serve(serve::ServeArgs),
    /// Generate a private key file and print its public key and id.
    Keygen(keygen::KeygenArgs),
    /// Watch a stream over native AVRS (QUIC) and write it as FLV or MPEG-TS.
    Play(play::PlayArgs),
    /// Publish a stream to a server (a synthetic, time-stamped source).
    Publish(publish::PublishArgs),
    /// Open many viewers of one stream and report throughput and latency.
    Bench(bench::BenchArgs),
    /// Access tokens (JWT): issue, verify, revoke.
    Token(token::TokenArgs),
    /// Clusters: members, approvals, cluster control (create, info, contents…).
    Cluster(cluster::ClusterArgs),
    /// Member certificates: issue, show.
    Cert(cert::CertArgs),
    /// Multi-factor authentication for admin actions: enroll.
    Mfa(mfa::MfaArgs),
    /// Video on demand: import files, list, delete, retention.
    Vod(vod::VodArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Play(args) => play::run(args),
        Command::Publish(args) => publish::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Token(args) => token::run(args),
        Command::Cluster(args) => cluster::run(args),
        Command::Cert(args) => cert::run(args),
        Command::Mfa(args) => mfa::run(args),
        Command::Vod(args) => vod::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("avrs: error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
