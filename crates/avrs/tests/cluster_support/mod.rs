//! What the multi-process cluster tests share: `avrs serve` nodes started
//! from config files (on loopback, or on a given address inside a network
//! namespace), and their views of the cluster over HTTP.

// Each test binary uses a different subset.
#![allow(dead_code)]

mod cli;
mod flv;
#[allow(unused_imports)]
pub use cli::{Reaped, avrs, ok, token};
#[allow(unused_imports)]
pub use flv::FlvViewer;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// One `avrs serve` process of the cluster; SIGKILLed on drop.
pub struct ClusterNode {
    pub child: Child,
    pub http: SocketAddr,
    pub rtmp: SocketAddr,
    pub quic: SocketAddr,
    pub gossip: SocketAddr,
    pub id: String,
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes the node's key ahead of time (`avrs keygen`), so the host's
/// members file can name it before the node ever starts.
pub fn make_key(data_dir: &Path) -> String {
    std::fs::create_dir_all(data_dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(["keygen", "--alg", "ed25519", "--out"])
        .arg(data_dir.join("node.key"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("id: "))
        .expect("keygen prints the id")
        .trim()
        .to_owned()
}

/// A node's config on loopback (see [`write_config_at`]).
pub fn write_config(dir: &Path, role: &str, host: Option<(&SocketAddr, &str)>) -> PathBuf {
    write_config_at(dir, role, host, LOOPBACK)
}

/// The config of a node whose gossip listens on `ip`; `host`: the host's
/// gossip address and id (none: this is the host, admitting the ids of
/// `members.txt`).
pub fn write_config_at(
    dir: &Path,
    role: &str,
    host: Option<(&SocketAddr, &str)>,
    ip: IpAddr,
) -> PathBuf {
    let mut text = format!(
        "[avrs]\nrole = {role}\ncluster_id = e2e\ndata_dir = {}\n\
         heartbeat_interval = 200ms\nreconnect_timeout = 2s\n",
        dir.display()
    );
    if let Some((gossip, id)) = host {
        text.push_str(&format!("host_address = {gossip}\n"));
        text.push_str(&format!(
            "\n[cluster]\ngossip_address = {ip}:0\nhost_id = {id}\n"
        ));
    } else {
        text.push_str(&format!(
            "\n[cluster]\ngossip_address = {ip}:0\nmembers_file = members.txt\n"
        ));
    }
    text.push_str("\n[auth]\npublish = loopback-or-token\n");
    let path = dir.join("avrs.ini");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts a node on loopback.
pub fn start(config: &Path) -> ClusterNode {
    start_at(config, LOOPBACK, None)
}

/// Starts a node listening on `ip`, inside network namespace `netns` when
/// given (`ip netns exec`).
pub fn start_at(config: &Path, ip: IpAddr, netns: Option<&str>) -> ClusterNode {
    let any_port = format!("{}", SocketAddr::new(ip, 0));
    let mut command = match netns {
        Some(name) => {
            let mut command = Command::new("ip");
            command
                .args(["netns", "exec", name])
                .arg(env!("CARGO_BIN_EXE_avrs"));
            command
        }
        None => Command::new(env!("CARGO_BIN_EXE_avrs")),
    };
    let mut child = command
        .args(["serve", "--config"])
        .arg(config)
        .args([
            "--rtmp", &any_port, "--http", &any_port, "--quic", &any_port,
        ])
        .stdout(Stdio::piped())
        .stderr(log_file(config))
        .spawn()
        .expect("start avrs serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut addrs = None;
    let mut cluster = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("avrs listening:") {
            addrs = Some((
                words[3].parse().unwrap(),
                words[5].parse().unwrap(),
                words[7].parse().unwrap(),
            ));
        }
        if line.starts_with("avrs cluster:") {
            cluster = Some((words[3].parse().unwrap(), words[5].to_owned()));
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    let ((rtmp, http, quic), (gossip, id)) = (
        addrs.expect("listening line"),
        cluster.expect("cluster line"),
    );
    ClusterNode {
        child,
        http,
        rtmp,
        quic,
        gossip,
        id,
    }
}

/// The node's log: `AVRS_CLUSTER_LOGS=DIR` keeps it for a failed run.
fn log_file(config: &Path) -> Stdio {
    let Some(dir) = std::env::var_os("AVRS_CLUSTER_LOGS") else {
        return Stdio::null();
    };
    let name = config.parent().and_then(|p| p.file_name()).unwrap();
    let mut path = PathBuf::from(dir).join(name);
    path.set_extension("log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    Stdio::from(file)
}

/// The whole HTTP/1.0 response to a short GET.
pub fn get(address: SocketAddr, path: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return String::new();
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = write!(stream, "GET {path} HTTP/1.0\r\nHost: t\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// A short POST with a JSON body and `headers`: the whole response.
pub fn post_json(address: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return String::new();
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.0\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let _ = stream.write_all(request.as_bytes());
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

pub fn members(node: &ClusterNode) -> serde_json::Value {
    let response = get(node.http, "/api/cluster/members");
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// Members `node` sees alive with a gossiped state, and how many contents
/// each holds, by id.
pub fn alive_members(node: &ClusterNode) -> Vec<(String, u64)> {
    let view = members(node);
    view["members"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|m| m["liveness"] == "alive" && !m["roles"].is_null())
                .map(|m| {
                    let id = m["id"].as_str().unwrap_or_default().to_owned();
                    (id, m["contents"].as_u64().unwrap_or(0))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Puts `line` first in `[section]` of the config at `config`.
pub fn add_to_section(config: &Path, section: &str, line: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    let header = format!("[{section}]\n");
    assert!(
        text.contains(&header),
        "{} has no {header}",
        config.display()
    );
    let edited = text.replacen(&header, &format!("{header}{line}\n"), 1);
    std::fs::write(config, edited).unwrap();
}

/// Drops the lines of the config at `config` that start with `prefix`.
pub fn drop_lines(config: &Path, prefix: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.starts_with(prefix))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(config, kept).unwrap();
}

/// `avrs cert issue`: a member certificate for `member_key`'s key, signed
/// by `ca_key`, written to `out`.
pub fn issue_certificate(ca_key: &Path, member_key: &Path, roles: &str, out: &Path) {
    let issued = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(["cert", "issue", "--ca-key"])
        .arg(ca_key)
        .arg("--member-key")
        .arg(member_key)
        .args(["--roles", roles, "--valid-for", "1h", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        issued.status.success(),
        "avrs cert issue: {}",
        String::from_utf8_lossy(&issued.stderr)
    );
}

/// A host approving ahead of time every other node of `names`, then one
/// server per other name, each config passed through `extra` (the node's
/// index in `names`, its config file) before it starts. Returns the host
/// and the servers in order.
pub fn start_cluster(
    dir: &Path,
    names: &[&str],
    extra: impl Fn(usize, &Path),
) -> (ClusterNode, Vec<ClusterNode>) {
    let ids: Vec<String> = names.iter().map(|n| make_key(&dir.join(n))).collect();
    std::fs::write(dir.join(names[0]).join("members.txt"), ids[1..].join("\n")).unwrap();
    let host_config = write_config(&dir.join(names[0]), "host", None);
    extra(0, &host_config);
    let host = start(&host_config);
    let servers = (1..names.len())
        .map(|i| {
            let config = write_config(
                &dir.join(names[i]),
                "server",
                Some((&host.gossip, &host.id)),
            );
            extra(i, &config);
            start(&config)
        })
        .collect();
    (host, servers)
}
