//! `avrs vod`: import files into the VoD library, list, delete, and run
//! retention — on the library of a data directory directly (no node may be
//! running on it), or through a running node with `--server URL`; and
//! `avrs vod bench`, many HLS VoD viewers against a node.

mod bench;
mod client;
mod import;
mod manage;
mod seek;

use anyhow::{Context, Result};
use avrs_vod::{Library, VodConfig};
use client::Server;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct VodArgs {
    #[command(subcommand)]
    command: VodCommand,
}

/// Where the library is: a data directory, or a running node.
#[derive(Debug, clap::Args)]
struct Target {
    /// INI file ([avrs] data_dir, [vod], [record.NAME]); default: built-in defaults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The data directory whose library to use (no node may run on it).
    #[arg(long, value_name = "DIR", conflicts_with = "server")]
    data_dir: Option<String>,
    /// A running node, http://HOST:PORT: go through its HTTP API.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum VodCommand {
    /// Import an MP4, MKV/WebM, FLV or MPEG-TS file (H.264/AAC, no re-encoding).
    Import(ImportArgs),
    /// List the contents.
    List(Target),
    /// Delete a content.
    Delete {
        id: String,
        #[command(flatten)]
        target: Target,
    },
    /// Run the retention rules ([record.NAME] max_age, max_size) once.
    Retention(Target),
    /// Many viewers playing a VoD HLS playlist; reports segments/s, bytes/s
    /// and segment fetch times.
    Bench(bench::BenchArgs),
    /// Native VoD sessions starting and seeking at random positions;
    /// reports request-to-first-frame p50/p99.
    Seekbench(seek::SeekArgs),
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    file: PathBuf,
    #[arg(long)]
    title: Option<String>,
    /// Name retention rules match (default "import").
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    owner: Option<String>,
    /// Comma-separated tags.
    #[arg(long)]
    tags: Option<String>,
    /// With --server: continue the interrupted upload ID.
    #[arg(long, value_name = "UPLOAD_ID", requires = "server")]
    resume: Option<String>,
    /// With --server: bytes per request.
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20)]
    chunk_size: usize,
    #[command(flatten)]
    target: Target,
}

pub fn run(args: VodArgs) -> Result<()> {
    // Many viewers want every core; the rest is one request at a time.
    let runtime = match args.command {
        VodCommand::Bench(_) | VodCommand::Seekbench(_) => {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
        }
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
    .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match args.command {
            VodCommand::Import(args) => import::run(args).await,
            VodCommand::List(target) => manage::list(&target).await,
            VodCommand::Delete { id, target } => manage::delete(&id, &target).await,
            VodCommand::Retention(target) => manage::retention(&target).await,
            VodCommand::Bench(args) => bench::run(args).await,
            VodCommand::Seekbench(args) => seek::run(args).await,
        }
    })
}

async fn open_library(target: &Target) -> Result<Arc<Library>> {
    let base = match &target.config {
        Some(path) => avrs_config::Config::load(path)?,
        None => avrs_config::Config::default(),
    };
    let overrides = avrs_config::ConfigOverrides {
        data_dir: target.data_dir.clone(),
        ..Default::default()
    };
    let config = base.with_overrides(&overrides)?;
    let vod = VodConfig::from_config(&config)?;
    let (library, recovery) = Library::open(&config.data_dir, vod, 1).await?;
    for id in recovery.recovered {
        eprintln!("recovered an interrupted recording as {id}");
    }
    Ok(library)
}

fn server(target: &Target) -> Result<Option<Server>> {
    target.server.as_deref().map(Server::parse).transpose()
}

/// The library a node serves, opened (and repaired) before it starts.
pub async fn open_for_node(data_dir: &std::path::Path, vod: VodConfig) -> Result<Arc<Library>> {
    let (library, recovery) = Library::open(data_dir, vod, 1)
        .await
        .context("cannot open the VoD library")?;
    for id in &recovery.recovered {
        tracing::warn!(%id, "an interrupted recording was recovered and listed");
    }
    tracing::info!(store = %library.store_label(), "VoD library open");
    Ok(library)
}
