//! `avrs vod bench URL --viewers N --duration S`: N viewers each play a
//! VoD media playlist from start to end (and again) on one kept-alive
//! HTTP/1.1 connection, as fast as the node answers. Reports segments/s,
//! bytes/s, segment fetch times (p50, p99) and media seconds served per
//! second: how many viewers playing in real time the node keeps fed.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// http://HOST:PORT/vod/ID/index.m3u8 (a VoD media playlist).
    url: String,
    /// Concurrent viewers.
    #[arg(long, default_value_t = 100)]
    viewers: usize,
    /// How long to run, seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
}

/// One object of the playlist, in play order.
#[derive(Debug, Clone)]
struct Entry {
    path: String,
    /// Media seconds (0 for an init segment).
    seconds: f64,
}

/// What one viewer got.
#[derive(Debug, Default)]
struct Tally {
    segments: u64,
    bytes: u64,
    media_seconds: f64,
    fetch_times: Vec<Duration>,
}

pub async fn run(args: BenchArgs) -> Result<()> {
    if args.viewers == 0 || args.viewers > 100_000 {
        bail!("--viewers must be 1 to 100000");
    }
    let (authority, path) = split_url(&args.url)?;
    let mut probe = connect(&authority).await?;
    let (_, playlist) = fetch(&mut probe, &authority, &path).await?;
    let entries = parse_playlist(&String::from_utf8_lossy(&playlist), &path)?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration.max(1));
    let mut viewers = tokio::task::JoinSet::new();
    for index in 0..args.viewers {
        let (authority, path, entries) = (authority.clone(), path.clone(), entries.clone());
        viewers.spawn(async move { view(&authority, &path, &entries, index, deadline).await });
    }
    let mut total = Tally::default();
    let mut errors = Vec::new();
    while let Some(joined) = viewers.join_next().await {
        match joined.context("a viewer task failed")? {
            Ok(tally) => {
                total.segments += tally.segments;
                total.bytes += tally.bytes;
                total.media_seconds += tally.media_seconds;
                total.fetch_times.extend(tally.fetch_times);
            }
            Err(err) => errors.push(format!("{err:#}")),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    total.fetch_times.sort();
    let percentile = |p: f64| -> f64 {
        let times = &total.fetch_times;
        if times.is_empty() {
            return 0.0;
        }
        let rank = ((times.len() - 1) as f64 * p).round() as usize;
        times[rank].as_secs_f64() * 1000.0
    };
    println!(
        "viewers: {} for {elapsed:.1} s ({} failed)",
        args.viewers,
        errors.len()
    );
    println!("segments/s: {:.1}", total.segments as f64 / elapsed);
    println!(
        "bytes/s: {:.1} MB/s",
        total.bytes as f64 / elapsed / 1_000_000.0
    );
    println!(
        "segment fetch: p50 {:.1} ms, p99 {:.1} ms",
        percentile(0.5),
        percentile(0.99)
    );
    println!(
        "media served: {:.0} s per second (real-time viewers kept fed)",
        total.media_seconds / elapsed
    );
    if let Some(first) = errors.first() {
        eprintln!("first viewer error: {first}");
    }
    Ok(())
}

/// Plays `entries` again and again until `deadline`, starting at a
/// different segment per viewer so they do not move in lockstep.
async fn view(
    authority: &str,
    playlist: &str,
    entries: &[Entry],
    index: usize,
    deadline: Instant,
) -> Result<Tally> {
    let mut tally = Tally::default();
    let mut connection = connect(authority).await?;
    let mut next = index % entries.len();
    while Instant::now() < deadline {
        if next == 0 {
            fetch(&mut connection, authority, playlist).await?;
        }
        let entry = &entries[next];
        let asked = Instant::now();
        let (_, body) = fetch(&mut connection, authority, &entry.path).await?;
        if entry.seconds > 0.0 {
            tally.fetch_times.push(asked.elapsed());
            tally.segments += 1;
            tally.media_seconds += entry.seconds;
        }
        tally.bytes += body.len() as u64;
        next = (next + 1) % entries.len();
    }
    Ok(tally)
}

fn split_url(url: &str) -> Result<(String, String)> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url:?}: expected http://HOST:PORT/vod/ID/index.m3u8"))?;
    let (authority, path) = rest.split_once('/').context("the URL has no path")?;
    Ok((authority.to_owned(), format!("/{path}")))
}

async fn connect(authority: &str) -> Result<SendRequest<Empty<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("cannot connect to {authority}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake")?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn fetch(
    sender: &mut SendRequest<Empty<Bytes>>,
    authority: &str,
    path: &str,
) -> Result<(StatusCode, Bytes)> {
    sender.ready().await.context("the connection closed")?;
    let request = Request::get(path)
        .header("host", authority)
        .body(Empty::new())?;
    let response = sender
        .send_request(request)
        .await
        .with_context(|| format!("GET {path}"))?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!("GET {path}: {status}");
    }
    Ok((status, body))
}

/// The init segments and segments of a media playlist, in play order,
/// resolved against the playlist's directory.
fn parse_playlist(text: &str, playlist: &str) -> Result<Vec<Entry>> {
    if text.contains("#EXT-X-STREAM-INF") {
        bail!("a multivariant playlist: give the media playlist (index.m3u8)");
    }
    let base = &playlist[..playlist.rfind('/').map_or(0, |i| i + 1)];
    let resolve = |uri: &str| {
        if uri.starts_with('/') {
            uri.to_owned()
        } else {
            format!("{base}{uri}")
        }
    };
    let mut entries = Vec::new();
    let mut seconds = 0.0;
    for line in text.lines().map(str::trim) {
        if let Some(map) = line.strip_prefix("#EXT-X-MAP:URI=\"") {
            let uri = map.split('"').next().unwrap_or_default();
            entries.push(Entry {
                path: resolve(uri),
                seconds: 0.0,
            });
        } else if let Some(extinf) = line.strip_prefix("#EXTINF:") {
            let number = extinf.split(',').next().unwrap_or_default();
            seconds = number.parse().unwrap_or(0.0);
        } else if !line.is_empty() && !line.starts_with('#') {
            entries.push(Entry {
                path: resolve(line),
                seconds: std::mem::take(&mut seconds),
            });
        }
    }
    if !entries.iter().any(|e| e.seconds > 0.0) {
        bail!("the playlist lists no segments");
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    #[test]
    fn playlist_entries_resolve_against_its_directory() {
        let text = "#EXTM3U\n#EXT-X-MAP:URI=\"init0.mp4\"\n#EXTINF:4.000,\nseg0.m4s\n#EXTINF:2.5,\nseg1.m4s\n#EXT-X-ENDLIST\n";
        let entries = super::parse_playlist(text, "/vod/ab/index.m3u8").unwrap();
        let paths: Vec<_> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/vod/ab/init0.mp4", "/vod/ab/seg0.m4s", "/vod/ab/seg1.m4s"]
        );
        assert_eq!(entries[2].seconds, 2.5);
        assert!(super::parse_playlist("#EXTM3U\n", "/x.m3u8").is_err());
    }
}
