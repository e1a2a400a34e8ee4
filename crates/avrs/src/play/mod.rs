//! `avrs play`: watch a live stream over native AVRS (QUIC) and write it as
//! FLV or MPEG-TS, to a file or to stdout, one frame at a time so a player
//! reading the output follows live.
//!
//! ```text
//! avrs play avrs://HOST:PORT/live/NAME --out FILE|- [--format flv|ts]
//!           [--duration SECS] [--key FILE]
//!           [--ca FILE | --pin sha256:HEX | --system-roots
//!            | --known-hosts FILE | --insecure]
//! ```
//!
//! The server's certificate is checked like SSH checks host keys, with
//! browser rules first ([`trust`]): by default one that chains to the
//! system's roots and names the URL's host is accepted; any other (a
//! node's default certificate is self-signed) is pinned by its SHA-256 in
//! the known-hosts file at first contact (`avrs play: first contact with
//! …` on stderr) and refused if it changes later. `--ca FILE` checks it
//! against a CA, `--pin` against one fingerprint, `--system-roots` against
//! the system's roots only, and `--insecure` not at all. Whatever the mode,
//! the session is signed and bound to the connection, and every frame's
//! signature is checked.

mod balance;
mod reconnect;
mod sink;
mod trust;

use anyhow::{Context, bail};
use avrs_node::native::client::{ClientOptions, PlayedFrame, Session, Watch};
use avrs_node::native::verify::CheckStats;
use balance::Balanced;
use sink::{Format, Sink};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The port of `avrs://HOST/...` URLs without one.
const DEFAULT_PORT: u16 = 4433;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The server's certificate: by default one that chains to the system's \
root certificates and names the URL's host is accepted; any other (a node's \
default certificate is self-signed) is pinned at first contact, by its SHA-256, \
in the known-hosts file (one `HOST:PORT sha256:HEX` line per server), and \
refused if it changes later. `avrs serve` prints its fingerprint (`native \
certificate sha256:...`) to compare with. --ca, --pin, --system-roots and \
--insecure choose another check; at most one of them. Whatever the check, the \
session is signed and bound to the TLS connection, and every frame's \
signature is checked."
)]
pub struct PlayArgs {
    /// The stream: avrs://HOST:PORT/live/NAME
    url: String,

    /// Where to write the stream: a file, or `-` for stdout.
    #[arg(long, short = 'o', value_name = "FILE|-")]
    out: String,

    /// Container format; by default from the file extension (.ts, .m2ts,
    /// .mts: MPEG-TS), else FLV.
    #[arg(long, value_enum)]
    format: Option<Format>,

    /// Stop after this many seconds of media (at most 10 s more of wall time).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,

    /// Private key file for the session (default: a fresh Ed25519 key).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,

    /// Seconds to wait for the server to answer.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    connect_timeout: f64,

    /// Believe only content signed by this key id (64 hex digits, as
    /// `avrs keygen --show` prints; repeatable). Without it, frames are
    /// still checked against the signer the server announces.
    #[arg(long = "trust", value_name = "ID")]
    trust: Vec<String>,

    #[command(flatten)]
    server_trust: trust::TrustArgs,

    /// Access token (`avrs token issue --role viewer`), sent in the signed
    /// OPEN; needed when the server has `[auth] play = token`.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,

    /// VoD only (`avrs://HOST/vod/ID`): start at this position; playback
    /// begins at the group of pictures containing it.
    #[arg(long, value_name = "SECS")]
    start: Option<f64>,

    /// Live only: the URL names a cluster balancer. It is asked which
    /// server to watch on; when that server is lost, playback resumes on
    /// another one (the output goes on with no frame written twice).
    #[arg(long)]
    balance: bool,

    /// With --balance: never use this server (its member id, 64 hex
    /// digits; repeatable), e.g. one under maintenance.
    #[arg(long, value_name = "ID", requires = "balance")]
    avoid: Vec<String>,

    /// When the connection is lost (or the server is silent for 3 s),
    /// reconnect for up to this many seconds and resume the session (the
    /// server keeps it for its `reconnect_timeout`); 0: do not reconnect.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    reconnect: f64,
}

pub fn run(args: PlayArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(play(args))
}

async fn play(args: PlayArgs) -> anyhow::Result<()> {
    let (authority, name) = parse_url(&args.url)?;
    let format = args.format.unwrap_or_else(|| Format::from_path(&args.out));
    let limit = match args.duration {
        Some(secs) if secs.is_finite() && secs > 0.0 => Some(secs),
        Some(_) => bail!("--duration must be a positive number of seconds"),
        None => None,
    };
    let trusted_signers = args
        .trust
        .iter()
        .map(|id| parse_key_id(id))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let address = resolve(&authority).await?;
    let server_trust = trust::server_trust(&args.server_trust, &authority)?;
    let server_name = host_of(&authority).to_owned();
    // One key for every connection: a reconnect is the same session.
    let key = match &args.key {
        Some(path) => avrs_crypto::keyfile::load(path)?,
        None => avrs_crypto::SigningKey::generate(avrs_crypto::Algorithm::Ed25519)?,
    };
    let reconnect_for = match args.reconnect {
        secs if secs.is_finite() && secs >= 0.0 => Duration::from_secs_f64(secs),
        _ => bail!("--reconnect must be a non-negative number of seconds"),
    };
    let options = || -> anyhow::Result<ClientOptions> {
        Ok(ClientOptions {
            key: Some(key.duplicate()?),
            connect_timeout: Duration::from_secs_f64(args.connect_timeout.max(0.1)),
            trusted_signers: trusted_signers.clone(),
            token: args.token.clone(),
            server_trust: server_trust.clone(),
            server_name: server_name.clone(),
            ..ClientOptions::default()
        })
    };
    let start = match args.start {
        Some(secs) if secs.is_finite() && secs >= 0.0 => Some((secs * 90_000.0) as u64),
        Some(_) => bail!("--start must be a non-negative number of seconds"),
        None => None,
    };
    let vod = name.starts_with("vod/");
    let mut balanced = None;
    let mut watch = match (vod, start, args.balance) {
        (true, _, true) | (false, Some(_), true) => {
            bail!("--balance applies to live URLs (avrs://HOST/live/NAME) only")
        }
        (false, None, true) => {
            let avoid = args
                .avoid
                .iter()
                .map(|id| parse_key_id(id).map(avrs_proto::Hash32))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let (via, watch) = Balanced::start(address, &name, avoid, &options).await?;
            eprintln!(
                "avrs play: watching {name} from {} (server {}), chosen by {address}",
                via.address,
                via.server_label()
            );
            balanced = Some(via);
            watch
        }
        (true, start, false) => {
            let session = Session::connect(address, options()?).await?;
            session.watch_vod(&name, start.unwrap_or(0), None).await?
        }
        (false, None, false) => {
            Session::connect(address, options()?)
                .await?
                .watch(&name)
                .await?
        }
        (false, Some(_), false) => bail!("--start applies to VoD URLs (avrs://HOST/vod/ID) only"),
    };
    if !args.balance {
        eprintln!("avrs play: watching {name} from {address}");
    }

    let out = open_output(&args.out)?;
    let mut sink = Sink::new(format, out);
    let wall_limit =
        limit.map(|secs| tokio::time::Instant::now() + Duration::from_secs_f64(secs + 10.0));
    let mut first_dts = None;
    let mut written = Written::default();
    let mut checks = CheckStats::default();
    loop {
        let next = match wall_limit {
            Some(at) => {
                match tokio::time::timeout_at(at, next_frame(&mut watch, args.balance)).await {
                    Ok(next) => next,
                    Err(_) => break,
                }
            }
            None => next_frame(&mut watch, args.balance).await,
        };
        let next = match next {
            Err(err) if !args.balance && reconnect::worth_it(&watch, &err, reconnect_for) => {
                reconnect::again(&mut watch, address, &options, reconnect_for, &err).await?;
                continue;
            }
            next => next,
        };
        let next = match (next, balanced.as_mut()) {
            (Ok(next), _) => next,
            (Err(err), Some(via)) => {
                let lost_at = std::time::Instant::now();
                eprintln!("avrs play: lost {}: {err:#}", via.address);
                add(&mut checks, watch.check_stats());
                watch = via.fail_over(&options).await?;
                eprintln!(
                    "avrs play: resumed on {} (server {}) after {} ms",
                    via.address,
                    via.server_label(),
                    lost_at.elapsed().as_millis()
                );
                continue;
            }
            (Err(err), None) => return Err(err),
        };
        let Some(frame) = next else {
            break;
        };
        if !written.is_new(&frame) {
            continue;
        }
        let first = *first_dts.get_or_insert(frame.media.dts);
        if let Some(secs) = limit
            && (frame.media.dts - first) as f64 >= secs * 90_000.0
        {
            break;
        }
        match sink.write(&frame) {
            Ok(()) => {}
            // The reader went away (a player closed, `| head`): done.
            Err(err) if is_broken_pipe(&err) => break,
            Err(err) => return Err(err).context(format!("cannot write {}", args.out)),
        }
    }
    match sink.finish() {
        Ok(()) => {}
        Err(err) if is_broken_pipe(&err) => {}
        Err(err) => return Err(err).context(format!("cannot write {}", args.out)),
    }
    add(&mut checks, watch.check_stats());
    eprintln!(
        "avrs play: frames verified {}, dropped as corrupted {}, unsigned {}",
        checks.verified, checks.corrupted, checks.unchecked
    );
    watch.close().await;
    Ok(())
}

/// The next frame; through a balancer, a live stream silent for
/// [`balance::STALL`] counts as a lost server; otherwise a server that
/// sends nothing at all (not even acknowledgements of the client's
/// keep-alives) for [`reconnect::SILENCE`] does.
async fn next_frame(watch: &mut Watch, balanced: bool) -> anyhow::Result<Option<PlayedFrame>> {
    if !balanced {
        let silence = reconnect::silence(watch);
        return tokio::select! {
            next = watch.next_frame() => next,
            silent = silence => Err(silent),
        };
    }
    match tokio::time::timeout(balance::STALL, watch.next_frame()).await {
        Ok(next) => next,
        Err(_) => bail!("no frame for {} ms", balance::STALL.as_millis()),
    }
}

/// The newest decode time written per track: after a failover the next
/// server starts at its newest keyframe, which may repeat frames already
/// written.
#[derive(Debug, Default)]
struct Written {
    last_dts: [Option<i64>; 2],
}

impl Written {
    fn is_new(&mut self, frame: &PlayedFrame) -> bool {
        let track = usize::from(frame.media.track == avrs_media::TrackKind::Audio);
        if self.last_dts[track].is_some_and(|last| frame.media.dts <= last) {
            return false;
        }
        self.last_dts[track] = Some(frame.media.dts);
        true
    }
}

fn add(total: &mut CheckStats, more: CheckStats) {
    total.verified += more.verified;
    total.corrupted += more.corrupted;
    total.unchecked += more.unchecked;
}

/// A key id: 64 hex digits (optionally `0x`-prefixed).
fn parse_key_id(text: &str) -> anyhow::Result<[u8; 32]> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(digits).ok().filter(|b| b.len() == 32);
    bytes
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("{text}: expected a key id of 64 hex digits"))
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

fn open_output(out: &str) -> anyhow::Result<Box<dyn Write>> {
    if out == "-" {
        return Ok(Box::new(std::io::stdout()));
    }
    let file = std::fs::File::create(out).with_context(|| format!("cannot create {out}"))?;
    Ok(Box::new(file))
}

/// `avrs://HOST[:PORT]/PATH` → (`HOST:PORT`, `PATH`), the path being the
/// content name (`live/NAME`).
pub(crate) fn parse_url(url: &str) -> anyhow::Result<(String, String)> {
    let rest = url
        .strip_prefix("avrs://")
        .with_context(|| format!("{url}: expected avrs://HOST:PORT/live/NAME"))?;
    let (authority, path) = rest
        .split_once('/')
        .with_context(|| format!("{url}: no stream name after the host"))?;
    let name = path.trim_end_matches('/');
    if authority.is_empty() || name.is_empty() {
        bail!("{url}: expected avrs://HOST:PORT/live/NAME");
    }
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

/// The host of `HOST:PORT` (`[::1]:PORT` → `::1`): the name the server's
/// certificate must be valid for.
fn host_of(authority: &str) -> &str {
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

pub(crate) async fn resolve(authority: &str) -> anyhow::Result<SocketAddr> {
    tokio::net::lookup_host(authority)
        .await
        .with_context(|| format!("cannot resolve {authority}"))?
        .next()
        .with_context(|| format!("{authority} has no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_host_port_and_stream() {
        let ok = |url: &str| parse_url(url).unwrap();
        assert_eq!(
            ok("avrs://127.0.0.1:4500/live/cam"),
            ("127.0.0.1:4500".into(), "live/cam".into())
        );
        assert_eq!(
            ok("avrs://example.org/live/a/b/"),
            ("example.org:4433".into(), "live/a/b".into())
        );
        assert_eq!(
            ok("avrs://[::1]:9/live/x"),
            ("[::1]:9".into(), "live/x".into())
        );
        assert_eq!(ok("avrs://[::1]/live/x").0, "[::1]:4433");
        assert_eq!(host_of("[::1]:4433"), "::1");
        assert_eq!(host_of("stream.example.com:4433"), "stream.example.com");
        assert_eq!(host_of("127.0.0.1:9"), "127.0.0.1");
        for bad in ["rtmp://h/live/x", "avrs://h", "avrs:///live/x", "avrs://h/"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
