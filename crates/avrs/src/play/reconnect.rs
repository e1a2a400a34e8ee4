//! `avrs play` without a balancer: when the connection to the server is
//! lost, reconnect with the same key and resume the session (the server
//! keeps its slots for `reconnect_timeout`); the output goes on with no
//! frame written twice.

use avrs_node::native::client::{ClientOptions, Reconnected, Watch};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// Nothing received from the server for this long (it acknowledges the
/// client's keep-alive every second): the connection is taken as lost.
pub const SILENCE: Duration = Duration::from_secs(3);
/// The error a silent server gives (told apart by type, not by text).
#[derive(Debug)]
struct Silent;

impl std::fmt::Display for Silent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "nothing from the server for {} s", SILENCE.as_secs())
    }
}

impl std::error::Error for Silent {}
/// Between two reconnect attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// The error once `watch`'s server has been silent for [`SILENCE`].
pub fn silence(watch: &Watch) -> impl Future<Output = anyhow::Error> + use<> {
    let silent = watch.silence(SILENCE);
    async move {
        silent.await;
        anyhow::Error::new(Silent)
    }
}

/// Whether `err` ended the watch in a way a reconnect may mend.
pub fn worth_it(watch: &Watch, err: &anyhow::Error, reconnect_for: Duration) -> bool {
    !reconnect_for.is_zero() && (watch.lost() || err.is::<Silent>())
}

/// Reconnects until the session goes on or `reconnect_for` has passed.
pub async fn again(
    watch: &mut Watch,
    address: SocketAddr,
    options: &dyn Fn() -> anyhow::Result<ClientOptions>,
    reconnect_for: Duration,
    why: &anyhow::Error,
) -> anyhow::Result<()> {
    let lost_at = Instant::now();
    eprintln!("avrs play: connection lost ({why:#}); reconnecting to {address}");
    // Tell a server that can still hear us that the session is not over.
    watch.abandon_connection();
    let deadline = lost_at + reconnect_for;
    loop {
        match watch.reconnect(address, options()?).await {
            Ok(how) => {
                let what = match how {
                    Reconnected::Resumed => "session resumed",
                    Reconnected::NewSession => "reconnected with a new session",
                };
                let ms = lost_at.elapsed().as_millis();
                eprintln!("avrs play: {what} after {ms} ms");
                return Ok(());
            }
            Err(err) if Instant::now() < deadline => {
                eprintln!("avrs play: not back yet: {err:#}");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            Err(err) => return Err(err.context("the connection could not be resumed")),
        }
    }
}
