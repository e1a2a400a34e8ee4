//! Admission by certificate, with separate `avrs serve` processes on
//! loopback: a host with no members file, a server whose
//! `certificate_file` the host's key signed (`avrs cert issue`) joins and
//! is alive without `avrs cluster approve`; a server whose certificate
//! another key signed waits for the operator (the host's audit log says
//! why) and is alive once approved.

mod cluster_support;
mod support;

use cluster_support::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::wait_until;

fn alive(node: &ClusterNode, id: &str) -> bool {
    alive_members(node).iter().any(|(a, _)| a == id)
}

fn pending(host: &ClusterNode) -> Vec<String> {
    members(host)["pending"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A member's config naming `member.crt` as its certificate.
fn member_config(dir: &Path, host: &ClusterNode) -> std::path::PathBuf {
    let config = write_config(dir, "server", Some((&host.gossip, &host.id)));
    add_to_section(&config, "avrs", "certificate_file = member.crt");
    config
}

fn audit_lines(host_dir: &Path, member: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(host_dir.join("audit.log")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "cluster_join" && e["subject"] == member)
        .collect()
}

#[test]
fn a_certificate_signed_by_the_host_admits_a_member() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["host", "certified", "stranger"];
    let ids: Vec<String> = names
        .iter()
        .map(|n| make_key(&dir.path().join(n)))
        .collect();
    let key = |n: &str| dir.path().join(n).join("node.key");
    let crt = |n: &str| dir.path().join(n).join("member.crt");
    issue_certificate(&key("host"), &key("certified"), "server", &crt("certified"));
    // Self-signed: a certificate the host did not sign.
    issue_certificate(
        &key("stranger"),
        &key("stranger"),
        "server",
        &crt("stranger"),
    );

    let host_config = write_config(&dir.path().join("host"), "host", None);
    drop_lines(&host_config, "members_file");
    let host = start(&host_config);
    let certified = start(&member_config(&dir.path().join("certified"), &host));
    let started = Instant::now();
    assert!(
        wait_until(Duration::from_secs(15), || alive(&host, &ids[1])),
        "the certified server is alive in the host's view: {}",
        members(&host)
    );
    eprintln!("certified server admitted in {:?}", started.elapsed());
    assert!(
        wait_until(Duration::from_secs(10), || alive(&certified, &ids[0])),
        "the certified server sees the host: {}",
        members(&certified)
    );
    let allowed = audit_lines(&dir.path().join("host"), &ids[1]);
    assert!(
        allowed.iter().any(|e| e["result"] == "allow"),
        "the host audits the admission: {allowed:?}"
    );

    let stranger = start(&member_config(&dir.path().join("stranger"), &host));
    assert!(
        wait_until(Duration::from_secs(10), || pending(&host).contains(&ids[2])),
        "the stranger's request waits for the operator: {}",
        members(&host)
    );
    assert!(!alive(&host, &ids[2]), "not admitted by its certificate");
    let denied = audit_lines(&dir.path().join("host"), &ids[2]);
    assert!(
        denied.iter().any(|e| e["result"] == "deny"
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("issued by"))),
        "the host audits why the certificate was refused: {denied:?}"
    );

    // The manual path still works for it.
    let approved = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args([
            "cluster",
            "approve",
            &ids[2],
            "--api",
            &host.http.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        approved.status.success(),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    assert!(
        wait_until(Duration::from_secs(15), || alive(&host, &ids[2])
            && alive(&certified, &ids[2])),
        "the approved stranger is alive: {}",
        members(&host)
    );
    drop((stranger, certified, host));
}
