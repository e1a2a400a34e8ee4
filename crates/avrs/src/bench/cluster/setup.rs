//! The benchmark cluster: 1 host, 1 balancer and servers (the first one
//! the origin, where the synthetic publisher publishes; the others the
//! edges), grown one server at a time as the run asks for more edges.
//! Every key is made before the host starts, so its members file admits
//! each server whenever it joins.

use super::api;
use super::edge_viewers::EdgeViewers;
use super::node::{HostAddress, Node, Publisher, Role, TempDir, make_key, write_config};
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::time::Duration;

/// How long the members may take to see each other, or a new server the
/// stream.
const JOIN_LIMIT: Duration = Duration::from_secs(20);

/// What every node shares.
#[derive(Debug, Clone)]
pub struct Settings {
    pub heartbeat: Duration,
    /// `low` or `high`: the synthetic clip.
    pub bitrate: String,
    /// The content: `live/NAME`.
    pub name: String,
}

/// A server's key and data directory, made before the host starts.
#[derive(Debug)]
struct Planned {
    dir: PathBuf,
    id: String,
}

/// The running cluster; every process is killed when it drops (fields
/// drop in order: viewers, publisher, nodes, then the directory).
#[derive(Debug)]
pub struct Cluster {
    pub settings: Settings,
    /// By server index (the origin's is always `None`).
    pub viewers: Vec<Option<EdgeViewers>>,
    publisher: Option<Publisher>,
    /// `servers[0]` is the origin.
    pub servers: Vec<Node>,
    pub balancer: Node,
    pub host: Node,
    planned: Vec<Planned>,
    dir: TempDir,
}

/// [`Node::start`] off the async threads (it blocks while the node starts).
async fn start_node(label: String, config: PathBuf) -> Result<Node> {
    tokio::task::spawn_blocking(move || Node::start(&label, &config))
        .await
        .context("a node start panicked")?
}

impl Cluster {
    /// Host, balancer and origin running, admitting up to `max_servers`
    /// servers; the stream published at the origin.
    pub async fn start(settings: Settings, max_servers: usize) -> Result<Self> {
        let dir = TempDir::new()?;
        let planned = (0..max_servers)
            .map(|i| {
                let dir = dir.0.join(format!("server{i}"));
                make_key(&dir).map(|id| Planned { dir, id })
            })
            .collect::<Result<Vec<_>>>()?;
        let balancer_dir = dir.0.join("balancer");
        let balancer_id = make_key(&balancer_dir)?;
        let host_dir = dir.0.join("host");
        make_key(&host_dir)?;
        let mut admitted: Vec<&str> = planned.iter().map(|p| p.id.as_str()).collect();
        admitted.push(&balancer_id);
        std::fs::write(host_dir.join("members.txt"), admitted.join("\n"))
            .context("cannot write the host's members file")?;

        let heartbeat = settings.heartbeat;
        let host_config = write_config(&host_dir, Role::Host, None, heartbeat)?;
        let host = start_node("host".into(), host_config).await?;
        let address = host.host_address();
        let config = write_config(&balancer_dir, Role::Balancer, Some(&address), heartbeat)?;
        let balancer = start_node("balancer".into(), config).await?;
        let mut cluster = Self {
            settings,
            viewers: Vec::new(),
            publisher: None,
            servers: Vec::new(),
            balancer,
            host,
            planned,
            dir,
        };
        cluster.add_server(&address).await?;
        cluster.publish().await?;
        Ok(cluster)
    }

    /// Starts the next planned server.
    async fn add_server(&mut self, host: &HostAddress) -> Result<()> {
        let index = self.servers.len();
        let Some(planned) = self.planned.get(index) else {
            bail!("no key was made for server {index}");
        };
        let config = write_config(
            &planned.dir,
            Role::Server,
            Some(host),
            self.settings.heartbeat,
        )?;
        let node = start_node(label(index), config).await?;
        if node.id != planned.id {
            bail!(
                "{} runs as {}, not the id the host admits",
                node.label,
                node.id
            );
        }
        self.servers.push(node);
        self.viewers.push(None);
        Ok(())
    }

    /// Publishes the synthetic stream at the origin and waits until the
    /// balancer knows the origin holds it.
    async fn publish(&mut self) -> Result<()> {
        let origin = &self.servers[0];
        let name = self.settings.name.trim_start_matches("live/");
        let mut publisher =
            Publisher::start(origin.rtmp, name, &self.settings.bitrate, &self.dir.0)?;
        let (http, content) = (origin.http, self.settings.name.clone());
        let live = api::wait_until(JOIN_LIMIT, || {
            let content = content.clone();
            async move { matches!(api::stream(http, &content).await, Ok(Some(_))) }
        })
        .await;
        publisher.check()?;
        if !live {
            bail!(
                "{content} is not live at the origin after {} s",
                JOIN_LIMIT.as_secs()
            );
        }
        self.publisher = Some(publisher);
        let (balancer, origin_id) = (self.balancer.http, self.servers[0].id.clone());
        let known =
            api::wait_until(JOIN_LIMIT, || api::sees_alive(balancer, &origin_id, true)).await;
        if !known {
            bail!(
                "the balancer does not see the origin holding {content}; balancer stderr:\n{}",
                self.balancer.stderr_tail()
            );
        }
        Ok(())
    }

    pub fn edges(&self) -> usize {
        self.servers.len().saturating_sub(1)
    }

    /// Adds servers until there are `edges` edges, each seeing the origin
    /// hold the stream; returns the new edges' indices.
    pub async fn grow(&mut self, edges: usize) -> Result<Vec<usize>> {
        let first_new = self.servers.len();
        let host = self.host.host_address();
        while self.edges() < edges {
            self.add_server(&host).await?;
        }
        for index in first_new..self.servers.len() {
            self.wait_sees_origin(index).await?;
            // The origin grants a feed only to a member it sees alive; an
            // edge it has not heard of yet would attach deeper, and the
            // row would measure the join race, not the tree.
            self.wait_seen_by(self.servers[0].http, "the origin", index)
                .await?;
        }
        Ok((first_new..self.servers.len()).collect())
    }

    /// Waits until the balancer sees every server alive (before that it
    /// cannot send a viewer to one).
    pub async fn wait_balancer_knows_all(&self) -> Result<()> {
        for index in 0..self.servers.len() {
            self.wait_seen_by(self.balancer.http, "the balancer", index)
                .await?;
        }
        Ok(())
    }

    /// Waits until the node at `http` (`who`) sees server `index` alive.
    async fn wait_seen_by(
        &self,
        http: std::net::SocketAddr,
        who: &str,
        index: usize,
    ) -> Result<()> {
        let id = self.servers[index].id.clone();
        if api::wait_until(JOIN_LIMIT, || api::sees_alive(http, &id, false)).await {
            return Ok(());
        }
        bail!(
            "{who} does not see {} alive after {} s",
            self.servers[index].label,
            JOIN_LIMIT.as_secs()
        )
    }

    /// Waits until server `index` sees the origin alive and holding the
    /// stream (before that, its viewers would be refused).
    pub async fn wait_sees_origin(&self, index: usize) -> Result<()> {
        let (http, origin) = (self.servers[index].http, self.servers[0].id.clone());
        if api::wait_until(JOIN_LIMIT, || api::sees_alive(http, &origin, true)).await {
            return Ok(());
        }
        let node = &self.servers[index];
        bail!(
            "{} does not see the origin holding the stream after {} s; its stderr:\n{}",
            node.label,
            JOIN_LIMIT.as_secs(),
            node.stderr_tail()
        )
    }

    /// Starts `count` viewers straight at edge `index`.
    pub fn watch_edge(&mut self, index: usize, count: usize) -> Result<()> {
        let viewers = EdgeViewers::start(self.servers[index].quic, &self.settings.name, count)?;
        self.viewers[index] = Some(viewers);
        Ok(())
    }

    /// Edges whose every viewer has played.
    pub fn edges_playing(&self) -> usize {
        self.viewers
            .iter()
            .flatten()
            .filter(|v| v.all_playing())
            .count()
    }

    /// SIGKILLs server `index` and stops its viewers.
    pub fn kill(&mut self, index: usize) {
        self.servers[index].kill();
        self.viewers[index] = None;
    }

    /// Starts server `index` again (same key) and waits until the
    /// balancer sees it alive.
    pub async fn restart(&mut self, index: usize) -> Result<()> {
        let node = &self.servers[index];
        let restarted = start_node(node.label.clone(), node.config.clone()).await?;
        self.servers[index] = restarted;
        self.wait_seen_by(self.balancer.http, "the balancer", index)
            .await
    }

    /// Errors when the publisher has stopped.
    pub fn check_publisher(&mut self) -> Result<()> {
        self.publisher.as_mut().map_or(Ok(()), Publisher::check)
    }

    pub fn label(&self, index: usize) -> &str {
        &self.servers[index].label
    }
}

/// `origin` for server 0, `edgeN` for the others.
fn label(index: usize) -> String {
    match index {
        0 => "origin".into(),
        n => format!("edge{n}"),
    }
}
