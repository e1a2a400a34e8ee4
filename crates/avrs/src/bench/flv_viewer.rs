//! An HTTP-FLV viewer: one GET, then FLV tags until the run ends.

use super::READ_BUF;
use super::http;
use super::url::HttpUrl;
use super::viewer::{Ended, Viewer};
use anyhow::{Context, Result};
use avrs_media::flv::{FlvDemuxer, TagType};
use tokio::io::AsyncReadExt;
use tokio::time::{Instant, sleep_until};

/// Watches `url` until `end`.
pub async fn run(url: &HttpUrl, viewer: &mut Viewer, end: Instant) -> Result<Ended> {
    let mut buf = vec![0u8; READ_BUF];
    let response = http::get(url, &mut buf).await?;
    let (mut stream, mut body) = (response.stream, response.body);
    let mut demuxer = FlvDemuxer::default();
    viewer.on_bytes(response.leftover.len());
    let mut done = body.decode(&response.leftover, |b| demuxer.push(b))?;
    let deadline = sleep_until(end);
    tokio::pin!(deadline);
    loop {
        while let Some(tag) = demuxer.next_tag().context("FLV stream")? {
            match tag.tag_type {
                TagType::Video => viewer.on_video(&tag.data),
                TagType::Audio => viewer.on_audio(),
                _ => {}
            }
        }
        if done {
            return Ok(Ended::Closed);
        }
        let n = tokio::select! {
            _ = &mut deadline => return Ok(Ended::Deadline),
            read = stream.read(&mut buf) => read?,
        };
        if n == 0 {
            return Ok(Ended::Closed);
        }
        viewer.on_bytes(n);
        done = body.decode(&buf[..n], |b| demuxer.push(b))?;
    }
}
