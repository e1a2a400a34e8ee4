//! Native AVRS over QUIC. Being written.

use crate::context::NodeContext;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Serves native AVRS sessions on `address` (UDP) until `shutdown`.
/// Returns the bound address once listening, or the error that prevented it.
pub async fn bind(
    address: SocketAddr,
    context: Arc<NodeContext>,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let _ = context;
    let task = tokio::spawn(async move { shutdown.cancelled().await });
    Ok((address, task))
}
