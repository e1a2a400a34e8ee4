//! `avrs vod import`: offline into a data directory's library, or through
//! a node's resumable uploads (`--server`).

use super::client::{self, Server};
use super::{ImportArgs, open_library, server};
use anyhow::{Context, Result, bail};
use avrs_vod::{ImportMeta, ImportProgress};
use bytes::Bytes;
use hyper::Method;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Instant;

pub(super) async fn run(args: ImportArgs) -> Result<()> {
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
pub(super) fn progress_bar(total: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>10} [{bar:40}] {percent:>3}% {elapsed_precise} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}
