//! The processes of a benchmark cluster: `avrs serve` nodes started from
//! config files on loopback (ports 0, read back from each node's startup
//! lines, as the multi-process tests do), and the synthetic publisher.
//! Every process is SIGKILLed when its guard drops, so no exit path of the
//! bench leaves one behind.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A node that has not printed its addresses by then is reported broken.
const STARTUP_LIMIT: Duration = Duration::from_secs(10);
/// Lines of a node's stderr shown when it fails.
const TAIL_LINES: usize = 20;
/// Every listener of every node: loopback, a port the kernel picks.
const ANY_PORT: &str = "127.0.0.1:0";

/// A child process, SIGKILLed and reaped on drop.
#[derive(Debug)]
pub struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Reaped {
    /// Whether it has exited (its status, then).
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.0.try_wait().ok().flatten()
    }
}

/// The temporary directory of a run, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("avrs-bench-cluster-{}-{nanos}", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which part a node plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Host,
    Balancer,
    Server,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Balancer => "balancer",
            Self::Server => "server",
        }
    }
}

/// Where a node gossips and who it is, once it runs.
#[derive(Debug, Clone)]
pub struct HostAddress {
    pub gossip: SocketAddr,
    pub id: String,
}

/// One `avrs serve` process (or its config, while it is not running).
#[derive(Debug)]
pub struct Node {
    /// `host`, `balancer`, `origin`, `edge3`: for messages.
    pub label: String,
    /// The member id (64 hex digits), known before the node starts.
    pub id: String,
    pub config: PathBuf,
    log: PathBuf,
    pub http: SocketAddr,
    pub rtmp: SocketAddr,
    pub quic: SocketAddr,
    pub gossip: SocketAddr,
    process: Option<Reaped>,
}

/// Makes a node's data directory and key: the host's members file must
/// name every member before the host starts.
pub fn make_key(dir: &Path) -> Result<String> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key = crate::node_key::load_or_create(None, dir)?;
    Ok(key.id().to_hex())
}

/// Writes the config of a node whose data directory is `dir`, the way the
/// cluster tests do: members are pre-approved by the host's
/// `members.txt`; `host`: the host to join (none: this is the host).
pub fn write_config(
    dir: &Path,
    role: Role,
    host: Option<&HostAddress>,
    heartbeat: Duration,
) -> Result<PathBuf> {
    let mut text = format!(
        "[avrs]\nrole = {}\ncluster_id = bench\ndata_dir = {}\n\
         heartbeat_interval = {}ms\nreconnect_timeout = 2s\n",
        role.name(),
        dir.display(),
        heartbeat.as_millis()
    );
    match host {
        Some(host) => text.push_str(&format!(
            "host_address = {}\n\n[cluster]\ngossip_address = {ANY_PORT}\nhost_id = {}\n",
            host.gossip, host.id
        )),
        None => text.push_str(&format!(
            "\n[cluster]\ngossip_address = {ANY_PORT}\nmembers_file = members.txt\n"
        )),
    }
    text.push_str("\n[auth]\npublish = loopback-or-token\n");
    let path = dir.join("avrs.ini");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// What a node's startup lines said.
#[derive(Debug, Default)]
struct Startup {
    /// rtmp, http, quic.
    listening: Option<[SocketAddr; 3]>,
    /// gossip, member id.
    cluster: Option<(SocketAddr, String)>,
}

impl Startup {
    /// Takes one stdout line; true once both lines have been read.
    fn read(&mut self, line: &str) -> bool {
        let words: Vec<&str> = line.split_whitespace().collect();
        let addr = |i: usize| words.get(i).and_then(|w| w.parse::<SocketAddr>().ok());
        if line.starts_with("avrs listening:") {
            self.listening = addr(3)
                .zip(addr(5))
                .zip(addr(7))
                .map(|((r, h), q)| [r, h, q]);
        }
        if line.starts_with("avrs cluster:") {
            self.cluster = addr(3).zip(words.get(5).map(|w| (*w).to_owned()));
        }
        self.listening.is_some() && self.cluster.is_some()
    }
}

impl Node {
    /// Starts `avrs serve --config CONFIG` and waits (at most
    /// [`STARTUP_LIMIT`]) for its addresses. Blocking.
    pub fn start(label: &str, config: &Path) -> Result<Self> {
        let dir = config.parent().context("a config file has a directory")?;
        let log = dir.join("stderr.log");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = Command::new(std::env::current_exe()?)
            .args(["serve", "--config"])
            .arg(config)
            .args(["--rtmp", ANY_PORT, "--http", ANY_PORT, "--quic", ANY_PORT])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start avrs serve ({label})"))?;
        let stdout = child.stdout.take().context("the node's stdout")?;
        let mut process = Reaped(child);
        let startup = read_startup(stdout).map_err(|why| {
            let status = process
                .exited()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            anyhow::anyhow!(
                "{label}: {why}{status}; its stderr ends with:\n{}",
                tail(&log)
            )
        })?;
        let (Some([rtmp, http, quic]), Some((gossip, id))) = (startup.listening, startup.cluster)
        else {
            bail!("{label}: incomplete startup lines");
        };
        Ok(Self {
            label: label.to_owned(),
            id,
            config: config.to_owned(),
            log,
            http,
            rtmp,
            quic,
            gossip,
            process: Some(process),
        })
    }

    /// SIGKILL now, then reap it.
    pub fn kill(&mut self) {
        drop(self.process.take());
    }

    pub fn host_address(&self) -> HostAddress {
        HostAddress {
            gossip: self.gossip,
            id: self.id.clone(),
        }
    }

    /// The end of its stderr, for an error message.
    pub fn stderr_tail(&self) -> String {
        tail(&self.log)
    }
}

/// Reads stdout lines (on a thread, which then drains the rest so the node
/// never blocks on a full pipe) until both startup lines came.
fn read_startup(stdout: std::process::ChildStdout) -> Result<Startup, String> {
    let (lines, from_node) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // Once startup is read nobody listens: drain and drop.
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + STARTUP_LIMIT;
    let mut startup = Startup::default();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match from_node.recv_timeout(left) {
            Ok(line) if startup.read(&line) => return Ok(startup),
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "did not start within {} s",
                    STARTUP_LIMIT.as_secs()
                ));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err("exited during startup".into());
            }
        }
    }
}

/// The last [`TAIL_LINES`] lines of the file at `path`.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(TAIL_LINES);
    lines[from..].join("\n")
}

/// `avrs publish --synthetic` of `live/NAME` to the node's RTMP listener.
#[derive(Debug)]
pub struct Publisher {
    process: Reaped,
    log: PathBuf,
}

impl Publisher {
    pub fn start(rtmp: SocketAddr, name: &str, bitrate: &str, dir: &Path) -> Result<Self> {
        let log = dir.join("publisher.log");
        let stderr = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(std::env::current_exe()?)
            .args(["publish", "--synthetic", "--bitrate-class", bitrate])
            .arg(format!("rtmp://{rtmp}/live/{name}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("cannot start avrs publish")?;
        Ok(Self {
            process: Reaped(child),
            log,
        })
    }

    /// An error when it has exited, with the end of its stderr.
    pub fn check(&mut self) -> Result<()> {
        match self.process.exited() {
            None => Ok(()),
            Some(status) => bail!(
                "avrs publish exited ({status}); its stderr ends with:\n{}",
                tail(&self.log)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_lines_give_every_address_and_the_id() {
        let mut startup = Startup::default();
        assert!(
            !startup.read("avrs listening: rtmp 127.0.0.1:1 http 127.0.0.1:2 quic 127.0.0.1:3")
        );
        assert!(!startup.read("publish: ffmpeg -re -i INPUT"));
        assert!(startup.read("avrs cluster: gossip 127.0.0.1:4 member abcd"));
        let [rtmp, http, quic] = startup.listening.unwrap();
        assert_eq!((rtmp.port(), http.port(), quic.port()), (1, 2, 3));
        assert_eq!(
            startup.cluster,
            Some(("127.0.0.1:4".parse().unwrap(), "abcd".into()))
        );
        assert!(!Startup::default().read("avrs listening: rtmp nonsense"));
    }

    #[test]
    fn configs_join_the_host_or_admit_the_members() {
        let dir = TempDir::new().unwrap();
        let heartbeat = Duration::from_millis(200);
        let host = write_config(&dir.0, Role::Host, None, heartbeat).unwrap();
        let text = std::fs::read_to_string(host).unwrap();
        assert!(text.contains("role = host\n") && text.contains("members_file = members.txt"));
        assert!(text.contains("heartbeat_interval = 200ms"));
        let address = HostAddress {
            gossip: "127.0.0.1:9".parse().unwrap(),
            id: "ab".into(),
        };
        let server = write_config(&dir.0, Role::Server, Some(&address), heartbeat).unwrap();
        let text = std::fs::read_to_string(server).unwrap();
        assert!(text.contains("host_address = 127.0.0.1:9\n") && text.contains("host_id = ab\n"));
    }
}
