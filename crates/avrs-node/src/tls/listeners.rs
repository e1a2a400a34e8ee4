//! The node's TLS listeners: bound with the others at start (so a busy
//! port fails the start), served once the node runs.

use crate::context::NodeContext;
use crate::{NodeOptions, bind, http, rtmp};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

pub(crate) struct SecureListeners {
    https: Option<(TcpListener, TlsAcceptor)>,
    rtmps: Option<(TcpListener, TlsAcceptor)>,
}

impl SecureListeners {
    pub(crate) async fn bind(options: &NodeOptions) -> anyhow::Result<Self> {
        Ok(Self {
            https: bind_one(options, options.https_address, "HTTPS", super::HTTPS_ALPN).await?,
            rtmps: bind_one(options, options.rtmps_address, "RTMPS", &[]).await?,
        })
    }

    /// Starts serving; returns the bound HTTPS and RTMPS addresses.
    pub(crate) fn spawn(
        self,
        options: &NodeOptions,
        context: &Arc<NodeContext>,
        shutdown: &CancellationToken,
        tasks: &mut JoinSet<()>,
    ) -> anyhow::Result<(Option<SocketAddr>, Option<SocketAddr>)> {
        let mut https_address = None;
        if let Some((listener, acceptor)) = self.https {
            https_address = Some(listener.local_addr()?);
            let max = options.max_connections;
            let listener = super::TlsListener::new(listener, acceptor, max, shutdown)?;
            tasks.spawn(http::serve_tls(listener, context.clone(), shutdown.clone()));
        }
        let mut rtmps_address = None;
        if let Some((listener, acceptor)) = self.rtmps {
            rtmps_address = Some(listener.local_addr()?);
            tasks.spawn(rtmp::serve_tls(
                listener,
                acceptor,
                context.clone(),
                options.max_connections,
                options.rtmp.clone(),
                shutdown.clone(),
            ));
        }
        Ok((https_address, rtmps_address))
    }
}

async fn bind_one(
    options: &NodeOptions,
    address: Option<SocketAddr>,
    what: &str,
    alpn: &[&[u8]],
) -> anyhow::Result<Option<(TcpListener, TlsAcceptor)>> {
    let Some(address) = address else {
        return Ok(None);
    };
    let Some(identity) = &options.tls else {
        anyhow::bail!("{what} on {address} needs tls_certificate_file and tls_private_key_file");
    };
    let acceptor = identity.tcp_acceptor(alpn)?;
    Ok(Some((bind(address, what).await?, acceptor)))
}
