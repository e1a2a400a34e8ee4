//! `avrs vod list | delete | retention`, offline or through a node.

use super::{Target, open_library, server};
use anyhow::Result;
use avrs_vod::VodId;
use bytes::Bytes;
use hyper::Method;

pub(super) async fn list(target: &Target) -> Result<()> {
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

pub(super) async fn delete(id: &str, target: &Target) -> Result<()> {
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

pub(super) async fn retention(target: &Target) -> Result<()> {
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
