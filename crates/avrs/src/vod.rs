//! `avrs vod`: import files into the VoD library, list, delete, and run
//! retention — on the library of a data directory directly (no node may be
//! running on it), or through a running node with `--server URL`.

mod client;

use anyhow::{Context, Result, bail};
use avrs_vod::{ImportMeta, ImportProgress, Library, VodConfig, VodId};
use bytes::Bytes;
use client::Server;
use hyper::Method;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match args.command {
            VodCommand::Import(args) => import(args).await,
            VodCommand::List(target) => list(&target).await,
            VodCommand::Delete { id, target } => delete(&id, &target).await,
            VodCommand::Retention(target) => retention(&target).await,
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

async fn import(args: ImportArgs) -> Result<()> {
    let meta = ImportMeta {
        title: args.title.clone(),
        name: args.name.clone(),
        owner: args.owner.clone(),
        tags: args
            .tags
            .as_deref()
            .map(|t| {
                t.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        file: args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
    };
    let started = Instant::now();
    let (id, seconds, title) = match server(&args.target)? {
        Some(server) => upload(&server, &args, &meta).await?,
        None => {
            let library = open_library(&args.target).await?;
            let bar = progress_bar(100, "remuxing");
            let mut report = |p: ImportProgress| {
                bar.set_length(p.total.max(1));
                bar.set_position(p.done);
            };
            let item = library.import_file(&args.file, meta, &mut report).await;
            bar.finish_and_clear();
            let item = item.with_context(|| format!("importing {}", args.file.display()))?;
            (item.id.to_string(), item.duration_seconds(), item.title)
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    println!("id: {id}");
    println!("title: {title}");
    println!("duration: {seconds:.3} s");
    println!(
        "imported {seconds:.1} s of media in {elapsed:.2} s ({:.0}× real time)",
        seconds / elapsed.max(1e-6)
    );
    Ok(())
}

/// Resumable upload: create (or resume), PATCH chunks at the server's
/// offset, then finish (the server imports).
async fn upload(
    server: &Server,
    args: &ImportArgs,
    meta: &ImportMeta,
) -> Result<(String, f64, String)> {
    let data = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let total = data.len() as u64;
    let (id, mut offset) = match &args.resume {
        Some(id) => {
            let reply = server
                .send(
                    Method::HEAD,
                    &format!("/api/vod/uploads/{id}"),
                    &[],
                    Bytes::new(),
                )
                .await?;
            let reply = reply.ok(&format!("resuming upload {id}"))?;
            (id.clone(), header_offset(&reply)?)
        }
        None => {
            let reply = server
                .send(Method::POST, "/api/vod/uploads", &[], Bytes::new())
                .await?
                .ok("creating an upload")?;
            let created: serde_json::Value =
                serde_json::from_slice(&reply.body).context("the server's upload reply")?;
            let id = created["id"]
                .as_str()
                .context("the server's upload reply has no id")?;
            (id.to_owned(), 0)
        }
    };
    if offset > total {
        bail!(
            "upload {id} holds {offset} bytes but {} has {total}: not the same file",
            args.file.display()
        );
    }
    let bar = progress_bar(total, "uploading");
    bar.set_position(offset);
    let data = Bytes::from(data);
    while offset < total {
        let end = (offset + args.chunk_size.max(1) as u64).min(total);
        let chunk = data.slice(offset as usize..end as usize);
        let sent = server
            .send(
                Method::PATCH,
                &format!("/api/vod/uploads/{id}"),
                &[("upload-offset", offset.to_string())],
                chunk,
            )
            .await
            .and_then(|r| r.ok("uploading"));
        match sent.and_then(|reply| header_offset(&reply)) {
            Ok(next) if next > offset => offset = next,
            Ok(_) => bail!("upload {id}: the server made no progress at offset {offset}"),
            Err(err) => {
                bar.abandon();
                let file = args.file.display();
                let url = args.target.server.as_deref().unwrap_or("URL");
                bail!(
                    "{err:#}\nupload interrupted at {offset} of {total} bytes; resume with: avrs vod import {file} --server {url} --resume {id}"
                );
            }
        }
        bar.set_position(offset);
    }
    bar.set_message("importing");
    let query = finish_query(meta);
    let reply = server
        .send(
            Method::POST,
            &format!("/api/vod/uploads/{id}/finish{query}"),
            &[],
            Bytes::new(),
        )
        .await;
    bar.finish_and_clear();
    let reply = reply?.ok(&format!("importing {}", args.file.display()))?;
    let item: serde_json::Value =
        serde_json::from_slice(&reply.body).context("the server's import reply")?;
    let id = item["id"].as_str().unwrap_or("?").to_owned();
    let title = item["title"].as_str().unwrap_or("").to_owned();
    Ok((id, item["duration"].as_f64().unwrap_or(0.0), title))
}

fn header_offset(reply: &client::Reply) -> Result<u64> {
    reply
        .headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .context("the server's reply has no Upload-Offset")
}

fn finish_query(meta: &ImportMeta) -> String {
    let mut pairs = Vec::new();
    let mut add = |key: &str, value: &str| pairs.push(format!("{key}={}", percent_encode(value)));
    for (key, value) in [
        ("title", &meta.title),
        ("name", &meta.name),
        ("owner", &meta.owner),
        ("file", &meta.file),
    ] {
        if let Some(value) = value {
            add(key, value);
        }
    }
    if !meta.tags.is_empty() {
        add("tags", &meta.tags.join(","));
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A bar on a terminal; hidden otherwise (indicatif draws only to a tty).
fn progress_bar(total: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>10} [{bar:40}] {percent:>3}% {elapsed_precise} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

async fn list(target: &Target) -> Result<()> {
    let items: Vec<serde_json::Value> = match server(target)? {
        Some(server) => serde_json::from_slice(&server.get("/api/vod").await?.ok("listing")?.body)?,
        None => {
            let library = open_library(target).await?;
            library.list()?.iter().map(|i| serde_json::json!({
                "id": i.id, "title": i.title, "duration": i.duration_seconds(), "partial": i.partial, "name": i.name,
            })).collect()
        }
    };
    for item in items {
        let partial = if item["partial"].as_bool() == Some(true) {
            " (partial)"
        } else {
            ""
        };
        println!(
            "{}  {:>9.3} s  {}  {}{partial}",
            item["id"].as_str().unwrap_or("?"),
            item["duration"].as_f64().unwrap_or(0.0),
            item["name"].as_str().unwrap_or(""),
            item["title"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

async fn delete(id: &str, target: &Target) -> Result<()> {
    let id = VodId::parse(id)?;
    match server(target)? {
        Some(server) => {
            server
                .send(Method::DELETE, &format!("/api/vod/{id}"), &[], Bytes::new())
                .await?
                .ok("deleting")?;
        }
        None => open_library(target).await?.delete(id).await?,
    }
    println!("deleted {id}");
    Ok(())
}

async fn retention(target: &Target) -> Result<()> {
    let removed: Vec<String> = match server(target)? {
        Some(server) => {
            let reply = server
                .send(Method::POST, "/api/vod/retention", &[], Bytes::new())
                .await?
                .ok("retention")?;
            let value: serde_json::Value = serde_json::from_slice(&reply.body)?;
            value["removed"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        }
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis() as u64;
            open_library(target)
                .await?
                .retention_sweep(now)
                .await?
                .iter()
                .map(ToString::to_string)
                .collect()
        }
    };
    for id in &removed {
        println!("removed {id}");
    }
    println!("retention: {} content(s) removed", removed.len());
    Ok(())
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
