//! A native AVRS viewer (QUIC): the client `avrs play` uses, a session
//! OPEN and a CONTENT_ADD by name, then frames in content order until the
//! run ends.
//!
//! Viewers share QUIC endpoints, [`VIEWERS_PER_ENDPOINT`] to each: one UDP
//! socket per viewer would cost a socket and a driver task each, and one
//! socket for thousands of viewers would overflow its receive buffer in
//! the bursts of a keyframe. Bytes are the UDP payload bytes the
//! connection received (QUIC and TLS overhead included), read from the
//! connection's statistics at each video frame.

use super::viewer::{Ended, Viewer};
use anyhow::{Context, Result, bail};
use avrs_media::TrackKind;
use avrs_node::native::client::{self, ClientOptions, Endpoint, Session, Watch};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// The port of `avrs://HOST/...` URLs without one (as `avrs play`).
const DEFAULT_PORT: u16 = 4433;
/// Viewers per QUIC endpoint (UDP socket).
const VIEWERS_PER_ENDPOINT: usize = 64;
/// Receive buffer asked for each endpoint's UDP socket (the kernel caps
/// it at `net.core.rmem_max`; the usual default, 208 KiB, holds about 10 ms
/// of 64 viewers of 2.5 Mbit/s, too little when the bench shares a core).
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;
/// How long the end of a run waits for the connection closes to go out.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Where native viewers connect, and the endpoints they share.
#[derive(Debug)]
pub struct NativeTarget {
    pub address: SocketAddr,
    /// The content name: `live/NAME`.
    pub name: String,
    /// Each viewer checks every frame's signature, as `avrs play` does.
    pub verify: bool,
    /// Each viewer opens sealed frames (ENCRYPTED contents), as `avrs play`
    /// does; otherwise they are counted unopened.
    pub unseal: bool,
    /// The access token every viewer's OPEN carries (`[auth] play = token`).
    pub token: Option<String>,
    /// Viewers started so far: viewer `i` uses endpoint
    /// `i / VIEWERS_PER_ENDPOINT`.
    started: AtomicUsize,
    endpoints: Mutex<Vec<Endpoint>>,
}

impl NativeTarget {
    /// Parses `avrs://HOST[:PORT]/live/NAME` and resolves the host (before
    /// the run, so no viewer waits on it).
    pub fn parse(url: &str) -> Result<Self> {
        let (authority, name) = parse_url(url)?;
        let address = authority
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {authority}"))?
            .next()
            .with_context(|| format!("{authority} has no address"))?;
        Ok(Self {
            address,
            name,
            verify: false,
            unseal: false,
            token: None,
            started: AtomicUsize::new(0),
            endpoints: Mutex::new(Vec::new()),
        })
    }

    /// The endpoint of the next viewer; made when its first viewer starts.
    fn endpoint(&self) -> Result<Endpoint> {
        let slot = self.started.fetch_add(1, Ordering::Relaxed) / VIEWERS_PER_ENDPOINT;
        let mut endpoints = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        while endpoints.len() <= slot {
            endpoints.push(new_endpoint(self.address)?);
        }
        Ok(endpoints[slot].clone())
    }

    /// After the viewers have ended: lets their connection closes reach
    /// the server, so it frees them now rather than at its idle timeout.
    pub async fn close(&self) {
        let endpoints =
            std::mem::take(&mut *self.endpoints.lock().unwrap_or_else(|e| e.into_inner()));
        close_endpoints(&endpoints).await;
    }
}

/// Closes every endpoint and waits (at most [`CLOSE_WAIT`]) until the
/// servers have heard it, so they count the sessions as ended.
pub(super) async fn close_endpoints(endpoints: &[Endpoint]) {
    for endpoint in endpoints {
        endpoint.close(0u32.into(), b"done");
    }
    let idle = async {
        for endpoint in endpoints {
            endpoint.wait_idle().await;
        }
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, idle).await;
}

/// A client endpoint (one UDP socket) for connections to `address`.
pub fn new_endpoint(address: SocketAddr) -> Result<Endpoint> {
    let options = ClientOptions::default();
    let (endpoint, _) = client::endpoint_with_receive_buffer(address, &options, SOCKET_BUFFER)?;
    Ok(endpoint)
}

/// Watches the content of `target` until `end`.
pub async fn run(target: &NativeTarget, viewer: &mut Viewer, end: Instant) -> Result<Ended> {
    let endpoint = target.endpoint()?;
    // One machine stands in for many players here: by default no simulated
    // player checks signatures, or the run would measure this tool, not the
    // server (a player's check is measured on its own in BENCHMARKS.md).
    // `--verify` turns the check on, as in `avrs play`.
    let options = ClientOptions {
        verify_signatures: target.verify,
        open_sealed: target.unseal,
        token: target.token.clone(),
        ..ClientOptions::default()
    };
    let session = Session::connect_on(&endpoint, target.address, options).await?;
    let mut watch = session.watch(&target.name).await?;
    let outcome = frames(&mut watch, viewer, end).await;
    let checks = watch.check_stats();
    viewer.set_checks(checks.verified, checks.corrupted);
    outcome
    // Dropping the watch closes the connection; the endpoint stays with
    // the other viewers.
}

/// Counts the frames of `watch` until `end`.
async fn frames(watch: &mut Watch, viewer: &mut Viewer, end: Instant) -> Result<Ended> {
    let mut counted = 0u64;
    let mut last_seq = None;
    let deadline = sleep_until(end);
    tokio::pin!(deadline);
    loop {
        let next = tokio::select! {
            _ = &mut deadline => break Ok(Ended::Deadline),
            next = watch.next_frame() => next?,
        };
        let Some(frame) = next else {
            break Ok(Ended::Closed);
        };
        viewer.on_media(frame.media.data.len());
        if frame.sealed {
            // Unopened: no stamp to read, so losses come from the frames'
            // positions (every track's frames count).
            let missed = last_seq.map_or(0, |last: u64| frame.seq.saturating_sub(last + 1));
            viewer.on_lost(missed);
        }
        last_seq = Some(frame.seq);
        match frame.media.track {
            TrackKind::Audio => viewer.on_audio(),
            TrackKind::Video => {
                let received = watch.connection().stats().udp_rx.bytes;
                viewer.on_bytes(usize::try_from(received - counted).unwrap_or(usize::MAX));
                counted = received;
                if frame.media.data.is_empty() {
                    continue;
                }
                if frame.sealed {
                    viewer.on_opaque_video();
                    continue;
                }
                if let Some(video) = &frame.configs.video {
                    viewer.set_nal_length_size(video.nal_length_size);
                }
                viewer.on_avc_frame(&frame.media.data);
            }
        }
    }
}

/// `avrs://HOST[:PORT]/PATH` to (`HOST:PORT`, `PATH`), the path being the
/// content name (`live/NAME`).
fn parse_url(url: &str) -> Result<(String, String)> {
    let expected = || format!("{url}: expected avrs://HOST[:PORT]/live/NAME");
    let rest = url.strip_prefix("avrs://").with_context(expected)?;
    let (authority, path) = rest.split_once('/').with_context(expected)?;
    let name = path.trim_end_matches('/');
    if authority.is_empty() || authority.contains('@') || name.is_empty() {
        bail!(expected());
    }
    // A bracketed IPv6 literal has colons of its own.
    let has_port = match authority.rfind(']') {
        Some(end) => authority[end..].contains(':'),
        None => authority.contains(':'),
    };
    let authority = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:{DEFAULT_PORT}")
    };
    Ok((authority, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_host_port_and_content() {
        let ok = |url: &str| parse_url(url).unwrap();
        assert_eq!(
            ok("avrs://127.0.0.1:4500/live/b"),
            ("127.0.0.1:4500".into(), "live/b".into())
        );
        assert_eq!(ok("avrs://h/live/b/").0, "h:4433");
        assert_eq!(ok("avrs://[::1]/live/x").0, "[::1]:4433");
        for bad in ["rtmp://h/live/x", "avrs://h", "avrs:///live/x", "avrs://h/"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        let target = NativeTarget::parse("avrs://127.0.0.1:9/live/b").unwrap();
        assert_eq!(target.address, "127.0.0.1:9".parse().unwrap());
        assert_eq!(target.name, "live/b");
    }
}
