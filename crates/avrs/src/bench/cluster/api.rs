//! What the bench reads of the nodes over their HTTP API: members and
//! their liveness (`/api/cluster/members`), relay routes
//! (`/api/cluster/routes`) and live streams (`/api/streams`).

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// A GET that takes longer than this has failed (loopback, small bodies).
const GET_LIMIT: Duration = Duration::from_secs(5);
/// Between two looks at a condition.
const POLL: Duration = Duration::from_millis(100);

/// `GET path` over HTTP/1.0 (the server closes after the body): the JSON
/// body of a 200 answer.
pub async fn get_json(address: SocketAddr, path: &str) -> Result<Value> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: bench\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(response)
    };
    let response = tokio::time::timeout(GET_LIMIT, exchange)
        .await
        .with_context(|| format!("GET http://{address}{path}: no answer"))?
        .with_context(|| format!("GET http://{address}{path}"))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        let status = head.lines().next().unwrap_or_default();
        bail!("GET http://{address}{path}: {status}");
    }
    serde_json::from_str(body).with_context(|| format!("GET http://{address}{path}: not JSON"))
}

/// A member as another node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    /// Alive, with a gossiped state (roles known).
    pub alive: bool,
    /// Contents it holds (0 when unknown).
    pub contents: u64,
}

/// The members `http`'s node knows (empty when it does not answer).
pub async fn members(http: SocketAddr) -> Vec<Member> {
    let Ok(view) = get_json(http, "/api/cluster/members").await else {
        return Vec::new();
    };
    let all = view["members"].as_array().cloned().unwrap_or_default();
    all.iter()
        .map(|m| Member {
            id: m["id"].as_str().unwrap_or_default().to_owned(),
            alive: m["liveness"] == "alive" && !m["roles"].is_null(),
            contents: m["contents"].as_u64().unwrap_or(0),
        })
        .collect()
}

/// Whether `http`'s node sees `id` alive (and, with `holding`, holding a
/// content).
pub async fn sees_alive(http: SocketAddr, id: &str, holding: bool) -> bool {
    members(http)
        .await
        .iter()
        .any(|m| m.id == id && m.alive && (!holding || m.contents > 0))
}

/// A node's place in the relay tree of one content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// `origin`, `relay` or `detached`.
    pub upstream: String,
    pub depth: Option<u8>,
    /// Member ids this node feeds the content to.
    pub children: Vec<String>,
}

/// The node's route for `content` (its cluster-wide id, as
/// `/api/streams` shows it); `None` when it carries no such route.
pub async fn route(http: SocketAddr, content: &str) -> Result<Option<Route>> {
    let view = get_json(http, "/api/cluster/routes").await?;
    let routes = view["routes"].as_array().cloned().unwrap_or_default();
    let Some(found) = routes.iter().find(|r| r["content"] == content) else {
        return Ok(None);
    };
    let children = found["children"].as_array().cloned().unwrap_or_default();
    Ok(Some(Route {
        upstream: found["upstream"].as_str().unwrap_or_default().to_owned(),
        depth: found["depth"].as_u64().and_then(|d| u8::try_from(d).ok()),
        children: children
            .iter()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect(),
    }))
}

/// The live stream `name` on the node: (content id, native viewers).
pub async fn stream(http: SocketAddr, name: &str) -> Result<Option<(String, u64)>> {
    let streams = get_json(http, "/api/streams").await?;
    let all = streams.as_array().cloned().unwrap_or_default();
    Ok(all.iter().find(|s| s["name"] == name).map(|s| {
        (
            s["content_id"].as_str().unwrap_or_default().to_owned(),
            s["viewers"]["native"].as_u64().unwrap_or(0),
        )
    }))
}

/// Polls `condition` until it holds (true) or `limit` has passed (false).
pub async fn wait_until<F, Fut>(limit: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}
