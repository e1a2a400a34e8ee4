//! A network partition, where network namespaces can be made (root and
//! iproute2): host, balancer and server 1 run in this namespace, server 2 in
//! its own, joined by a veth pair. Cutting the link isolates server 2: the
//! others declare it down; restoring the link, it is back in the host's and
//! the balancer's views and sees them again (the cluster heals). Where
//! namespaces cannot be made, the test says why and skips.

mod cluster_support;
mod support;

use cluster_support::*;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, Instant};
use support::wait_until;

/// A namespace joined to this one by a veth pair; removed on drop.
struct Netns {
    name: String,
    /// This side's end of the pair.
    link: String,
    outside: IpAddr,
    inside: IpAddr,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

impl Netns {
    fn create() -> Result<Self, String> {
        // Unique per run; interface names stay within 15 bytes.
        let tag = std::process::id() % 100_000;
        let subnet = u8::try_from(tag % 250).unwrap_or(0);
        let this = Self {
            name: format!("avrs-part-{tag}"),
            link: format!("avp{tag}a"),
            outside: IpAddr::V4(Ipv4Addr::new(10, 213, subnet, 1)),
            inside: IpAddr::V4(Ipv4Addr::new(10, 213, subnet, 2)),
        };
        let peer = format!("avp{tag}b");
        ip(&["netns", "add", &this.name])?;
        // From here on, drop cleans up whatever was made.
        ip(&[
            "link", "add", &this.link, "type", "veth", "peer", "name", &peer,
        ])?;
        ip(&["link", "set", &peer, "netns", &this.name])?;
        let outside = format!("{}/30", this.outside);
        let inside = format!("{}/30", this.inside);
        ip(&["addr", "add", &outside, "dev", &this.link])?;
        ip(&["link", "set", &this.link, "up"])?;
        let exec = |args: &[&str]| {
            let mut all = vec!["netns", "exec", &this.name, "ip"];
            all.extend_from_slice(args);
            ip(&all)
        };
        exec(&["addr", "add", &inside, "dev", &peer])?;
        exec(&["link", "set", &peer, "up"])?;
        exec(&["link", "set", "lo", "up"])?;
        Ok(this)
    }

    fn cut(&self) {
        ip(&["link", "set", &self.link, "down"]).unwrap();
    }

    fn heal(&self) {
        ip(&["link", "set", &self.link, "up"]).unwrap();
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes its end of the pair, and so the pair.
        let _ = ip(&["netns", "del", &self.name]);
        let _ = ip(&["link", "del", &self.link]);
    }
}

fn sees_alive(node: &ClusterNode, id: &str) -> bool {
    alive_members(node).iter().any(|(member, _)| member == id)
}

/// How `node` sees member `id`: alive, suspect or down (`None`: unknown).
fn liveness(node: &ClusterNode, id: &str) -> Option<String> {
    let view = members(node);
    view["members"].as_array()?.iter().find_map(|m| {
        (m["id"] == id).then(|| m["liveness"].as_str().unwrap_or_default().to_owned())
    })
}

#[test]
fn an_isolated_server_is_declared_down_and_the_cluster_heals() {
    let netns = match Netns::create() {
        Ok(netns) => netns,
        Err(why) => {
            eprintln!("skipped: cannot create network namespaces here ({why})");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let names = ["host", "balancer", "s1", "s2"];
    let ids: Vec<String> = names
        .iter()
        .map(|n| make_key(&dir.path().join(n)))
        .collect();
    std::fs::write(dir.path().join("host/members.txt"), ids[1..].join("\n")).unwrap();
    let outside = netns.outside;
    let host_config = write_config_at(&dir.path().join("host"), "host", None, outside);
    let host = start_at(&host_config, outside, None);
    let member = |i: usize, role: &str, at: IpAddr, netns: Option<&str>| {
        let host = Some((&host.gossip, host.id.as_str()));
        let config = write_config_at(&dir.path().join(names[i]), role, host, at);
        start_at(&config, at, netns)
    };
    let balancer = member(1, "balancer", outside, None);
    let _s1 = member(2, "server", outside, None);
    let s2 = member(3, "server", netns.inside, Some(&netns.name));
    let isolated = ids[3].clone();
    assert!(
        wait_until(Duration::from_secs(15), || alive_members(&balancer).len()
            == 4),
        "all four members alive in the balancer's view: {}",
        members(&balancer)
    );

    netns.cut();
    let cut_at = Instant::now();
    assert!(
        wait_until(Duration::from_secs(20), || {
            liveness(&balancer, &isolated).as_deref() == Some("down")
                && liveness(&host, &isolated).as_deref() == Some("down")
        }),
        "the isolated server declared down: {}",
        members(&balancer)
    );
    eprintln!(
        "partition: isolated server seen down after {:?}",
        cut_at.elapsed()
    );
    assert_eq!(alive_members(&balancer).len(), 3, "the rest stay up");

    netns.heal();
    let healed_at = Instant::now();
    assert!(
        wait_until(Duration::from_secs(60), || sees_alive(&balancer, &isolated)
            && sees_alive(&host, &isolated)
            && alive_members(&s2).len() == 4),
        "the cluster heals: balancer {}, isolated server {}",
        members(&balancer),
        members(&s2)
    );
    eprintln!("partition: healed after {:?}", healed_at.elapsed());
}
