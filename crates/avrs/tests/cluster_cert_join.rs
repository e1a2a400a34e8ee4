//! Admission by certificate, with separate `avrs serve` processes on
//! loopback: a host with no members file, a server whose
//! `certificate_file` the host's key signed (`avrs cert issue`) joins and
//! is alive without `avrs cluster approve`; a server whose certificate
//! another key signed waits for the operator (the host's audit log says
//! why) and is alive once approved.
//!
//! Chains: a server whose certificate an operator issued (`avrs cert issue
//! --chain`), the operator's own certificate signed by the host's key, is
//! admitted; when the operator's certificate lacks the operator role the
//! CLI refuses to issue, a hand-made chain is refused by the host, and the
//! request waits (the audit log names the issuer's roles).

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

/// `avrs` with `args`; its output, or a failure with its stderr.
fn avrs(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout_of(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Keys for a host, an operator and a member in `dir` (`NAME/node.key`),
/// and `operator.crt`: the operator's certificate from the host's key with
/// `operator_roles`. Returns the ids: host, operator, member.
fn operator_setup(dir: &Path, operator_roles: &str) -> [String; 3] {
    let ids = ["host", "operator", "member"].map(|n| make_key(&dir.join(n)));
    let key = |n: &str| dir.join(n).join("node.key");
    issue_certificate(
        &key("host"),
        &key("operator"),
        operator_roles,
        &dir.join("operator.crt"),
    );
    ids
}

fn start_host(dir: &Path) -> ClusterNode {
    let host_config = write_config(&dir.join("host"), "host", None);
    drop_lines(&host_config, "members_file");
    start(&host_config)
}

#[test]
fn a_certificate_from_an_operator_the_host_certified_admits_a_member() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let ids = operator_setup(dir, "operator");
    let key = |n: &str| dir.join(n).join("node.key");
    let member_crt = dir.join("member").join("member.crt");
    let issued = avrs(&[
        "cert".as_ref(),
        "issue".as_ref(),
        "--ca-key".as_ref(),
        key("operator").as_os_str(),
        "--chain".as_ref(),
        dir.join("operator.crt").as_os_str(),
        "--member-key".as_ref(),
        key("member").as_os_str(),
        "--roles".as_ref(),
        "server".as_ref(),
        "--valid-for".as_ref(),
        "1h".as_ref(),
        "--out".as_ref(),
        member_crt.as_os_str(),
    ]);
    stdout_of(&issued);
    let text = std::fs::read_to_string(&member_crt).unwrap();
    assert_eq!(
        text.matches("-----BEGIN AVRS CERTIFICATE-----").count(),
        2,
        "the member's certificate, then the operator's: {text}"
    );
    // `cert show --ca` checks the whole chain against the host's key.
    let ca = dir.join("ca.crt");
    let self_signed = avrs(&[
        "cert".as_ref(),
        "issue".as_ref(),
        "--ca-key".as_ref(),
        key("host").as_os_str(),
        "--self".as_ref(),
        "--roles".as_ref(),
        "host".as_ref(),
        "--out".as_ref(),
        ca.as_os_str(),
    ]);
    stdout_of(&self_signed);
    let shown = stdout_of(&avrs(&[
        "cert".as_ref(),
        "show".as_ref(),
        member_crt.as_os_str(),
        "--ca".as_ref(),
        ca.as_os_str(),
    ]));
    assert!(shown.contains("certificate: 2 of 2"), "{shown}");
    assert!(
        shown.contains(&format!("verified: signed by operator {}", ids[1])),
        "{shown}"
    );

    let host = start_host(dir);
    let member = start(&member_config(&dir.join("member"), &host));
    assert!(
        wait_until(Duration::from_secs(15), || alive(&host, &ids[2])),
        "the operator-certified server is alive in the host's view: {}",
        members(&host)
    );
    let allowed = audit_lines(&dir.join("host"), &ids[2]);
    assert!(
        allowed.iter().any(|e| e["result"] == "allow"),
        "the host audits the admission: {allowed:?}"
    );
    drop((member, host));
}

#[test]
fn a_certificate_from_a_non_operator_does_not_admit() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let ids = operator_setup(dir, "server");
    let key = |n: &str| dir.join(n).join("node.key");
    let member_crt = dir.join("member").join("member.crt");
    // The CLI refuses at once...
    let refused = avrs(&[
        "cert".as_ref(),
        "issue".as_ref(),
        "--ca-key".as_ref(),
        key("operator").as_os_str(),
        "--chain".as_ref(),
        dir.join("operator.crt").as_os_str(),
        "--member-key".as_ref(),
        key("member").as_os_str(),
        "--roles".as_ref(),
        "server".as_ref(),
        "--out".as_ref(),
        member_crt.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("holds roles server"),
        "{stderr}"
    );
    assert!(!member_crt.exists());
    // ...so the chain is made by hand: the leaf, then the issuer's.
    let leaf = dir.join("leaf.crt");
    issue_certificate(&key("operator"), &key("member"), "server", &leaf);
    let chain = std::fs::read_to_string(&leaf).unwrap()
        + &std::fs::read_to_string(dir.join("operator.crt")).unwrap();
    std::fs::write(&member_crt, chain).unwrap();

    let host = start_host(dir);
    let member = start(&member_config(&dir.join("member"), &host));
    assert!(
        wait_until(Duration::from_secs(10), || pending(&host).contains(&ids[2])),
        "the request waits for the operator: {}",
        members(&host)
    );
    assert!(!alive(&host, &ids[2]), "not admitted by its certificate");
    let denied = audit_lines(&dir.join("host"), &ids[2]);
    assert!(
        denied.iter().any(|e| e["result"] == "deny"
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.contains(&format!("issuer {} holds roles server", ids[1])))),
        "the host audits why the chain was refused: {denied:?}"
    );
    drop((member, host));
}
