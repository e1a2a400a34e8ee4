//! An LL-HLS viewer: follows the live edge part by part, as a low-latency
//! player does, on one kept-alive connection.
//!
//! It starts at the newest independent part of the playlist, then asks
//! for the next part's playlist with a blocking reload (`_HLS_msn`,
//! `_HLS_part`) and fetches every part newer than the last one it got.
//! Preload hints are not used: each part costs a playlist and a part
//! request, which on loopback adds well under a millisecond.

use super::READ_BUF;
use super::fmp4::{InitInfo, Sample, for_each_sample, parse_init};
use super::http::Connection;
use super::playlist::{self, MediaPlaylist};
use super::url::HttpUrl;
use super::viewer::{Ended, Viewer};
use anyhow::{Context, Result, bail};
use tokio::time::{Instant, sleep_until};

/// Watches the playlist at `url` until `end`.
pub async fn run(url: &HttpUrl, viewer: &mut Viewer, end: Instant) -> Result<Ended> {
    let deadline = sleep_until(end);
    tokio::pin!(deadline);
    let mut buf = vec![0u8; READ_BUF];
    let mut body = Vec::with_capacity(READ_BUF);
    let mut conn = Connection::new(&url.authority);
    let mut playlist_path = url.path.clone();
    let mut next: Option<(u64, u64)> = None;
    let mut init: Option<(String, InitInfo)> = None;
    // A GET into `body` that gives way to the end of the run.
    macro_rules! fetch {
        ($path:expr) => {{
            let path: String = $path;
            let mut count = |n| viewer.on_bytes(n);
            tokio::select! {
                _ = &mut deadline => return Ok(Ended::Deadline),
                got = conn.fetch(&path, &mut buf, &mut body, &mut count) => got?,
            }
        }};
    }
    loop {
        let path = match next {
            Some((msn, index)) => playlist::blocking_path(&playlist_path, msn, index),
            None => playlist_path.clone(),
        };
        fetch!(path);
        let text = std::str::from_utf8(&body).context("playlist is not UTF-8")?;
        let list = playlist::parse(text);
        if next.is_none()
            && let Some(variant) = &list.variant
        {
            playlist_path = playlist::resolve(&playlist_path, variant);
            continue;
        }
        if !list.can_block {
            bail!("not an LL-HLS playlist: no CAN-BLOCK-RELOAD=YES");
        }
        let wanted = next.unwrap_or_else(|| live_edge(&list));
        next = Some(wanted);
        for part in list.parts.iter().filter(|p| p.position() >= wanted) {
            let map = part.map.as_deref().context("part without EXT-X-MAP")?;
            if init.as_ref().is_none_or(|(uri, _)| uri != map) {
                fetch!(playlist::resolve(&playlist_path, map));
                let info = parse_init(&body).context("init segment")?;
                if let Some((_, size)) = info.video {
                    viewer.set_nal_length_size(size);
                }
                init = Some((map.to_owned(), info));
            }
            fetch!(playlist::resolve(&playlist_path, &part.uri));
            let info = init.as_ref().map(|(_, info)| info).context("no init")?;
            for_each_sample(&body, info, |sample| match sample {
                Sample::Video(avcc) => viewer.on_avc_frame(avcc),
                Sample::Audio => viewer.on_audio(),
            })
            .with_context(|| format!("part {}", part.uri))?;
            next = Some((part.msn, part.index + 1));
        }
        if list.ended {
            return Ok(Ended::Closed);
        }
    }
}

/// Where a player joins: the newest independent part, else the next part.
fn live_edge(list: &MediaPlaylist) -> (u64, u64) {
    list.parts
        .iter()
        .rev()
        .find(|p| p.independent)
        .map_or(list.next, |p| p.position())
}
