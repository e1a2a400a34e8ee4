//! An RTMP viewer: connect, play, then media messages until the run ends.

use super::READ_BUF;
use super::rtmp_client::{RtmpClient, rtmp_error};
use super::url::RtmpUrl;
use super::viewer::{Ended, Viewer};
use anyhow::{Result, bail};
use rml_rtmp::sessions::ClientSessionEvent;
use tokio::time::{Instant, sleep_until};

/// Plays `url` until `end`.
pub async fn run(url: &RtmpUrl, viewer: &mut Viewer, end: Instant) -> Result<Ended> {
    let mut buf = vec![0u8; READ_BUF];
    let mut client = RtmpClient::connect(url, &mut buf).await?;
    let request = client
        .session()
        .request_playback(url.key.clone())
        .map_err(rtmp_error)?;
    client.absorb(vec![request]);
    client.flush().await?;
    let deadline = sleep_until(end);
    tokio::pin!(deadline);
    loop {
        for event in client.events.drain(..) {
            match event {
                ClientSessionEvent::VideoDataReceived { data, .. } => viewer.on_video(&data),
                ClientSessionEvent::AudioDataReceived { .. } => viewer.on_audio(),
                ClientSessionEvent::UnhandleableOnStatusCode { code } if is_failure(&code) => {
                    bail!("play refused: {code}")
                }
                _ => {}
            }
        }
        let n = tokio::select! {
            _ = &mut deadline => return Ok(Ended::Deadline),
            read = client.read(&mut buf) => read?,
        };
        if n == 0 {
            return Ok(Ended::Closed);
        }
        viewer.on_bytes(n);
        client.feed(&buf[..n])?;
        // Acknowledgements and ping responses.
        client.flush().await?;
    }
}

/// `onStatus` codes that mean no stream is coming.
fn is_failure(code: &str) -> bool {
    ["Failed", "StreamNotFound", "BadName", "Rejected"]
        .iter()
        .any(|word| code.contains(word))
}
