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
//!
//! Revocation: a member admitted by a host-signed certificate whose serial
//! is then revoked (the host's revocation file, as an operator's editor
//! or `avrs token revoke` writes it) is removed: the host and the other
//! members stop listing it, while a member approved by id stays. And
//! revoking an operator's serial through the admin API (host token and
//! TOTP) removes the member it certified and closes that member's native
//! session on the host (`avrs play --key` with the member's key) with
//! MEMBER_SECURITY_ISSUE, naming the operator's certificate.

mod cluster_support;
mod support;

use cluster_support::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{have, publish_ffmpeg, wait_until, wait_with_deadline};

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
    audit_events(host_dir, "cluster_join", member)
}

fn audit_events(host_dir: &Path, event: &str, member: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(host_dir.join("audit.log")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == event && e["subject"] == member)
        .collect()
}

/// Whether `node` lists `id` at all (alive, suspect or down).
fn listed(node: &ClusterNode, id: &str) -> bool {
    members(node)["members"]
        .as_array()
        .is_some_and(|all| all.iter().any(|m| m["id"] == id))
}

/// The serials `avrs cert show` prints for the certificates of `file`.
fn serials(file: &Path) -> Vec<String> {
    let shown = stdout_of(&avrs(&["cert".as_ref(), "show".as_ref(), file.as_os_str()]));
    shown
        .lines()
        .filter_map(|l| l.strip_prefix("serial: "))
        .map(str::to_owned)
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
            && alive(&certified, &ids[2])
            && alive(&stranger, &ids[1])),
        "the approved stranger is alive: {}",
        members(&host)
    );

    // The certified member's serial revoked in the host's list: it is
    // removed, everywhere; the stranger, approved by id, stays.
    let serial = serials(&crt("certified")).remove(0);
    std::fs::write(
        dir.path().join("host").join("revoked.txt"),
        format!("serial {serial}\n"),
    )
    .unwrap();
    let revoked_at = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || !listed(&host, &ids[1])),
        "the host stops listing the revoked member: {}",
        members(&host)
    );
    eprintln!("revoked member removed in {:?}", revoked_at.elapsed());
    assert!(
        wait_until(Duration::from_secs(10), || !listed(&stranger, &ids[1])),
        "the other member follows the host's roster: {}",
        members(&stranger)
    );
    assert!(alive(&host, &ids[2]), "{}", members(&host));
    let removed = audit_events(&dir.path().join("host"), "cluster_member_removed", &ids[1]);
    assert!(
        removed.iter().any(|e| e["reason"]
            .as_str()
            .is_some_and(|r| r == format!("certificate {serial} is revoked"))),
        "the host audits the removal and why: {removed:?}"
    );
    let kept = std::fs::read_to_string(dir.path().join("host/cluster/removed")).unwrap();
    assert!(kept.contains(&ids[1]), "kept out like a REMOVE: {kept}");
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

/// `member/member.crt`: the member's certificate issued by the operator
/// (`avrs cert issue --chain`), then the operator's.
fn issue_by_operator(dir: &Path) -> std::path::PathBuf {
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
    member_crt
}

#[test]
fn a_certificate_from_an_operator_the_host_certified_admits_a_member() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let ids = operator_setup(dir, "operator");
    let key = |n: &str| dir.join(n).join("node.key");
    let member_crt = issue_by_operator(dir);
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

/// A host whose admin API is on: a token key and an admin TOTP secret
/// (`avrs mfa enroll`). Returns it with a host token's `Authorization`.
fn start_admin_host(dir: &Path) -> (ClusterNode, String) {
    let host_dir = dir.join("host");
    let host_config = write_config(&host_dir, "host", None);
    drop_lines(&host_config, "members_file");
    let token_key = host_dir.join("token.key");
    stdout_of(&avrs(&[
        "keygen".as_ref(),
        "--alg".as_ref(),
        "ed25519".as_ref(),
        "--out".as_ref(),
        token_key.as_os_str(),
    ]));
    add_to_section(&host_config, "auth", "token_ed25519_key_file = token.key");
    add_to_section(&host_config, "auth", "admin_totp_secret_file = admin.totp");
    let config = host_config.as_os_str();
    stdout_of(&avrs(&[
        "mfa".as_ref(),
        "enroll".as_ref(),
        "--config".as_ref(),
        config,
    ]));
    let issued = stdout_of(&avrs(&[
        "token".as_ref(),
        "issue".as_ref(),
        "--config".as_ref(),
        config,
        "--role".as_ref(),
        "host".as_ref(),
        "--content".as_ref(),
        "*".as_ref(),
        "--ttl".as_ref(),
        "10m".as_ref(),
    ]));
    let token = issued.lines().last().unwrap().to_owned();
    (start(&host_config), format!("Bearer {token}"))
}

#[test]
fn revoking_the_operator_removes_its_member_and_closes_its_sessions() {
    if !have("ffmpeg") {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let ids = operator_setup(dir, "operator");
    let member_crt = issue_by_operator(dir);
    let operator_serial = serials(&dir.join("operator.crt")).remove(0);
    let (host, bearer) = start_admin_host(dir);
    let member = start(&member_config(&dir.join("member"), &host));
    assert!(
        wait_until(Duration::from_secs(15), || alive(&host, &ids[2])),
        "the operator-certified member is alive: {}",
        members(&host)
    );
    assert_eq!(serials(&member_crt)[1], operator_serial);

    // The member watches a stream on the host, signing with its own key.
    let mut ffmpeg = publish_ffmpeg(host.rtmp, "cam", 40);
    let out = dir.join("watched.flv");
    let mut watch = support::avrs_play(dir)
        .arg(format!("avrs://{}/live/cam", host.quic))
        .arg("--key")
        .arg(dir.join("member").join("node.key"))
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || {
            std::fs::metadata(&out).is_ok_and(|m| m.len() > 4096)
        }),
        "the member's native session plays"
    );

    // The operator's serial revoked through the admin API.
    let totp = avrs_auth::totp::Totp::load(&dir.join("host").join("admin.totp")).unwrap();
    let code = totp.code_at(avrs_auth::unix_now());
    let body = format!("{{\"serial\":\"{operator_serial}\"}}");
    let headers = [("Authorization", bearer.as_str()), ("X-Avrs-Totp", &code)];
    let revoked_at = Instant::now();
    let response = post_json(host.http, "/api/admin/revoke", &headers, &body);
    assert_eq!(response.get(9..12), Some("200"), "{response}");
    let host_dir = dir.join("host");
    let closed = |e: &serde_json::Value| {
        e["reason"]
            .as_str()
            .is_some_and(|r| r.contains(&format!("issuer certificate {operator_serial}")))
    };
    assert!(
        wait_until(Duration::from_secs(5), || {
            audit_events(&host_dir, "session_closed", &ids[2])
                .iter()
                .any(closed)
        }),
        "the host closes the member's session, naming the operator's certificate: {:?}",
        audit_events(&host_dir, "session_closed", &ids[2])
    );
    let closed_in = revoked_at.elapsed();
    eprintln!("member's session closed {closed_in:?} after the revocation");
    // heartbeat_interval is 200 ms; the host's driver acts within a tick.
    assert!(closed_in <= Duration::from_secs(1), "{closed_in:?}");
    let status = wait_with_deadline(&mut watch, Duration::from_secs(10)).expect("play ends");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut watch.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("MEMBER_SECURITY_ISSUE"), "{stderr}");
    assert!(stderr.contains(&operator_serial), "{stderr}");

    assert!(
        wait_until(Duration::from_secs(10), || !listed(&host, &ids[2])),
        "the host stops listing the member: {}",
        members(&host)
    );
    let removed = audit_events(&host_dir, "cluster_member_removed", &ids[2]);
    assert!(removed.iter().any(closed), "{removed:?}");
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
    drop((member, host));
}
