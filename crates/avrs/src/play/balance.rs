//! `avrs play --balance`: the URL names a cluster node (a balancer); it is
//! asked (BALANCE_REQUEST) which server to watch on. When that server is
//! lost (connection gone, or no frame for [`STALL`]) the balancer is asked
//! again without it, and playback resumes on the next server.

use avrs_node::native::client::{ClientOptions, Session, Watch};
use avrs_proto::Hash32;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// No frame for this long from a live stream: the server is taken as lost.
pub const STALL: Duration = Duration::from_secs(1);
/// How long a failover keeps asking before playback fails.
const FAILOVER_LIMIT: Duration = Duration::from_secs(10);
/// Between two attempts of a failover.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// Servers remembered as unusable (the request carries at most 16).
const MAX_EXCLUDED: usize = 16;

/// Makes the options of one connection (a key cannot be cloned: each
/// connection loads or makes its own).
pub type OptionsFn<'a> = dyn Fn() -> anyhow::Result<ClientOptions> + 'a;

/// Playback through a balancer.
#[derive(Debug)]
pub struct Balanced {
    balancer: SocketAddr,
    name: String,
    excluded: Vec<Hash32>,
    /// The server watched now (`None` until the first answer).
    pub server: Option<Hash32>,
    pub address: SocketAddr,
}

impl Balanced {
    /// The watched server's id, shortened for messages.
    pub fn server_label(&self) -> String {
        self.server
            .map_or_else(|| "?".into(), |id| id.to_hex()[..16].to_owned())
    }

    /// Asks `balancer` for a server of `name` (never one of `avoid`) and
    /// watches it there.
    pub async fn start(
        balancer: SocketAddr,
        name: &str,
        avoid: Vec<Hash32>,
        options: &OptionsFn<'_>,
    ) -> anyhow::Result<(Self, Watch)> {
        let mut this = Self {
            balancer,
            name: name.to_owned(),
            excluded: avoid,
            server: None,
            address: balancer,
        };
        let watch = this.watch_next(options).await?;
        Ok((this, watch))
    }

    /// The server was lost: ask again without it until another one plays
    /// (or [`FAILOVER_LIMIT`] passes).
    pub async fn fail_over(&mut self, options: &OptionsFn<'_>) -> anyhow::Result<Watch> {
        if let Some(lost) = self.server {
            self.exclude(lost);
        }
        let deadline = Instant::now() + FAILOVER_LIMIT;
        loop {
            match self.watch_next(options).await {
                Ok(watch) => return Ok(watch),
                Err(err) if Instant::now() < deadline => {
                    eprintln!("avrs play: no server yet: {err:#}");
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                Err(err) => return Err(err.context("no server left to resume on")),
            }
        }
    }

    async fn watch_next(&mut self, options: &OptionsFn<'_>) -> anyhow::Result<Watch> {
        let mut balancer = Session::connect(self.balancer, options()?).await?;
        let (server, address) = balancer.balance(&self.name, &self.excluded).await?;
        drop(balancer);
        let watched = async {
            let mut server = options()?;
            // Another node than the URL's: pinned under its own address.
            server.server_trust = server.server_trust.for_server(&address.to_string());
            let session = Session::connect(address, server).await?;
            session.watch(&self.name).await
        };
        match watched.await {
            Ok(watch) => {
                self.server = Some(server);
                self.address = address;
                Ok(watch)
            }
            Err(err) => {
                // Unusable now: ask for another next time.
                self.exclude(server);
                Err(err)
            }
        }
    }

    fn exclude(&mut self, server: Hash32) {
        if self.excluded.contains(&server) {
            return;
        }
        if self.excluded.len() == MAX_EXCLUDED {
            self.excluded.remove(0);
        }
        self.excluded.push(server);
    }
}
