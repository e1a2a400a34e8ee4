//! Cluster control end to end, through the `avrs cluster` CLI against real
//! `avrs serve` processes on loopback: a host with an admin token key and
//! TOTP secret; tokens of each role (`avrs token issue`).
//!
//! - host token: create, info, list; server token: content-add;
//! - refusals with MEMBER_SECURITY_ISSUE: a viewer's content-add, an
//!   operator's destroy / change / role-assign, a server's approve;
//! - the deployment's own cluster: an operator approves a server's waiting
//!   join (it joins), the host removes it (gone from the members view);
//! - a restart keeps the cluster and its contents (`cluster-book.json`);
//! - an operator node holds a replica of the host's book (BOOK_SYNC).

mod cluster_support;
mod support;

use avrs_auth::totp::Totp;
use cluster_support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};
use support::wait_until;

/// `avrs ARGS`, whatever its outcome.
/// Gives the host a token key and an admin TOTP secret (`avrs mfa enroll`).
fn enable_admin(host_dir: &Path, config: &Path) {
    let key = host_dir.join("token.key");
    ok(&avrs(&[
        "keygen",
        "--alg",
        "ed25519",
        "--out",
        key.to_str().unwrap(),
    ]));
    add_to_section(config, "auth", "token_ed25519_key_file = token.key");
    add_to_section(config, "auth", "admin_totp_secret_file = admin.totp");
    ok(&avrs(&[
        "mfa",
        "enroll",
        "--config",
        config.to_str().unwrap(),
    ]));
}

/// TOTP codes as the node takes them: each step once, in increasing
/// order, within one step of the node's clock. A code too far ahead waits
/// for the clock (polled); `current - 1` only early in a step, so the code
/// cannot expire on its way.
struct Codes {
    totp: Totp,
    next: u64,
}

impl Codes {
    fn code(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(95);
        loop {
            let now = avrs_auth::unix_now();
            let current = now / 30;
            let earliest = match now % 30 < 25 {
                true => current.saturating_sub(1),
                false => current,
            };
            let step = self.next.max(earliest);
            if step <= current + 1 {
                self.next = step + 1;
                return self.totp.code_at(step * 30);
            }
            assert!(Instant::now() < deadline, "the clock did not move on");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// `avrs cluster ARGS --api NODE --token TOKEN [--totp CODE]`.
fn cluster(node: &ClusterNode, args: &[&str], token: &str, totp: Option<String>) -> Output {
    let api = node.http.to_string();
    let mut all = vec!["cluster"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--api", &api, "--token", token]);
    let code;
    if let Some(totp) = totp {
        code = totp;
        all.extend_from_slice(&["--totp", &code]);
    }
    avrs(&all)
}

fn json(output: &Output) -> Value {
    serde_json::from_str(&ok(output)).expect("the CLI prints the node's JSON")
}

/// Refused with `code`: a failing command naming it.
fn refused(output: &Output, code: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should be refused: {stderr}");
    assert!(stderr.contains(code), "{stderr}");
}

fn member_listed(host: &ClusterNode, id: &str) -> bool {
    let view = members(host);
    let in_list = |key: &str| {
        view[key]
            .as_array()
            .is_some_and(|all| all.iter().any(|m| m["id"] == id || *m == id))
    };
    in_list("members") || in_list("pending")
}

fn book_file(host_dir: &Path) -> PathBuf {
    host_dir.join("cluster-book.json")
}

#[test]
fn the_cli_drives_cluster_control_with_roles_persistence_and_the_roster() {
    let dir = tempfile::tempdir().unwrap();
    let host_dir = dir.path().join("host");
    make_key(&host_dir);
    std::fs::write(host_dir.join("members.txt"), "").unwrap();
    let config = write_config(&host_dir, "host", None);
    enable_admin(&host_dir, &config);
    let host = start(&config);
    let mut codes = Codes {
        totp: Totp::load(&host_dir.join("admin.totp")).unwrap(),
        next: 0,
    };
    let admin = token(&config, "host", "admin");
    let operator = token(&config, "operator", "oscar");
    let server = token(&config, "server", "edge-1");
    let viewer = token(&config, "viewer", "ann");

    // The host creates a cluster and sees it.
    let created = json(&cluster(
        &host,
        &["create", "--title", "Lecture", "--setup", "lecture"],
        &admin,
        Some(codes.code()),
    ));
    assert_eq!(created["code"], "SUCCESS", "{created}");
    let id = created["cluster"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["cluster"]["owner"], created["actor"]);
    let info = json(&cluster(&host, &["info", &id], &admin, None));
    assert_eq!(info["cluster"]["title"], "Lecture");
    assert_eq!(info["cluster"]["setup"], "LECTURE");
    let list = json(&cluster(&host, &["list"], &admin, None));
    let clusters = list["clusters"].as_array().unwrap();
    assert!(clusters.iter().any(|c| c["id"] == id.as_str()), "{list}");
    let deployment = clusters
        .iter()
        .find(|c| c["deployment"] == true)
        .and_then(|c| c["id"].as_str())
        .expect("the deployment's own cluster is listed")
        .to_owned();

    // A server adds a content; a viewer may not.
    let add = |token: &str, totp: Option<String>| {
        let args = ["content-add", &id, "live/cam", "--flows", "va"];
        let args = [&args[..], &["--codec", "v=avc1.64001F", "--title", "Cam"]].concat();
        cluster(&host, &args, token, totp)
    };
    let added = json(&add(&server, Some(codes.code())));
    assert_eq!(added["text"], "CONTENT_ADDED", "{added}");
    refused(&add(&viewer, None), "MEMBER_SECURITY_ISSUE");

    // An operator may not destroy, change or assign roles; a server may
    // not approve.
    let member = created["actor"].as_str().unwrap();
    for args in [
        vec!["destroy", &id],
        vec!["change", &id, "--title", "Mine"],
        vec!["role-assign", &id, member, "client"],
    ] {
        refused(
            &cluster(&host, &args, &operator, None),
            "MEMBER_SECURITY_ISSUE",
        );
    }
    refused(
        &cluster(&host, &["approve", &id, member], &server, None),
        "MEMBER_SECURITY_ISSUE",
    );

    // The deployment's cluster is the roster: a server not approved ahead
    // of time waits; an operator approves it and it joins; the host
    // removes it and it is gone.
    let edge_dir = dir.path().join("edge");
    let edge_id = make_key(&edge_dir);
    let edge_config = write_config(&edge_dir, "server", Some((&host.gossip, &host.id)));
    let edge = start(&edge_config);
    assert!(
        wait_until(Duration::from_secs(10), || member_listed(&host, &edge_id)),
        "the join request reaches the host"
    );
    let approved = json(&cluster(
        &host,
        &["approve", &deployment, &edge_id],
        &operator,
        Some(codes.code()),
    ));
    assert_eq!(approved["text"], "APPROVED", "{approved}");
    assert!(
        wait_until(Duration::from_secs(10), || alive_members(&host)
            .iter()
            .any(|(m, _)| *m == edge_id)),
        "the approved server joins"
    );
    let removed = json(&cluster(
        &host,
        &["remove", &deployment, &edge_id],
        &admin,
        Some(codes.code()),
    ));
    assert_eq!(removed["text"], "REMOVED", "{removed}");
    assert!(
        wait_until(Duration::from_secs(10), || !member_listed(&host, &edge_id)),
        "the removed server is gone: {}",
        members(&host)
    );
    drop(edge);

    // A restart keeps the cluster and its content.
    assert!(book_file(&host_dir).exists());
    drop(host);
    let host = start(&config);
    let info = json(&cluster(&host, &["info", &id], &admin, None));
    assert_eq!(info["cluster"]["title"], "Lecture", "{info}");
    let contents = json(&cluster(&host, &["content-list", &id], &admin, None));
    let listed = &contents["contents"][0];
    assert_eq!(listed["title"], "Cam", "{contents}");
    assert_eq!(listed["codecs"][0], "v=avc1.64001F");
    assert!(
        !member_listed(&host, &edge_id),
        "still removed after a restart"
    );
}

/// An operator node holds a replica of the host's book (BOOK_SYNC): what
/// the host creates reaches the operator's reads, which still answer with
/// the host down and after the operator restarts; a change of a host's
/// cluster sent to the operator is refused with `ASK_THE_HOST`.
#[test]
fn an_operator_node_holds_the_hosts_book_while_the_host_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let (host_dir, operator_dir) = (dir.path().join("host"), dir.path().join("operator"));
    make_key(&host_dir);
    let operator_id = make_key(&operator_dir);
    std::fs::write(host_dir.join("members.txt"), &operator_id).unwrap();
    let host_config = write_config(&host_dir, "host", None);
    enable_admin(&host_dir, &host_config);
    let host = start(&host_config);
    let operator_config = write_config(&operator_dir, "operator", Some((&host.gossip, &host.id)));
    enable_admin(&operator_dir, &operator_config);
    let operator = start(&operator_config);
    let admin = token(&host_config, "host", "admin");
    let oscar = token(&operator_config, "operator", "oscar");
    let mut host_codes = Codes {
        totp: Totp::load(&host_dir.join("admin.totp")).unwrap(),
        next: 0,
    };

    // A first copy: the deployment's cluster, listed on the operator.
    let lists_the_deployment = || {
        let list = cluster(&operator, &["list"], &oscar, None);
        list.status.success()
            && json(&list)["clusters"]
                .as_array()
                .is_some_and(|all| all.iter().any(|c| c["deployment"] == true))
    };
    assert!(
        wait_until(Duration::from_secs(15), lists_the_deployment),
        "the operator copies the host's book"
    );

    // The host then creates a cluster and adds a content to it.
    let create = ["create", "--title", "Lecture", "--setup", "lecture"];
    let created = json(&cluster(&host, &create, &admin, Some(host_codes.code())));
    let id = created["cluster"]["id"].as_str().unwrap().to_owned();
    let add = [
        "content-add",
        &id,
        "live/cam",
        "--flows",
        "va",
        "--title",
        "Cam",
    ];
    let added = json(&cluster(&host, &add, &admin, Some(host_codes.code())));
    assert_eq!(added["text"], "CONTENT_ADDED", "{added}");

    // Both reach the operator's reads at a later pull.
    let holds_the_book = |operator: &ClusterNode| {
        let contents = cluster(operator, &["content-list", &id], &oscar, None);
        let info = cluster(operator, &["info", &id], &oscar, None);
        let list = cluster(operator, &["list"], &oscar, None);
        info.status.success()
            && contents.status.success()
            && list.status.success()
            && json(&info)["cluster"]["title"] == "Lecture"
            && json(&contents)["contents"][0]["title"] == "Cam"
            && json(&list)["clusters"]
                .as_array()
                .is_some_and(|all| all.iter().any(|c| c["id"] == id.as_str()))
    };
    assert!(
        wait_until(Duration::from_secs(15), || holds_the_book(&operator)),
        "the host's book reaches the operator"
    );

    // A change of the host's cluster belongs to the host.
    let mut operator_codes = Codes {
        totp: Totp::load(&operator_dir.join("admin.totp")).unwrap(),
        next: 0,
    };
    let del = ["content-del", &id, "live/cam"];
    let refusal = cluster(&operator, &del, &oscar, Some(operator_codes.code()));
    refused(&refusal, "CLUSTER_WRONG_REQUEST ASK_THE_HOST");

    // Only approved operators copy the book, and only the host's.
    let stranger = book_sync_refusal(host.quic);
    assert!(
        stranger.contains("MEMBER_SECURITY_ISSUE") && stranger.ends_with("NOT_AN_OPERATOR"),
        "{stranger}"
    );
    let not_host = book_sync_refusal(operator.quic);
    assert!(
        not_host.contains("CLUSTER_WRONG_REQUEST") && not_host.ends_with("NOT_THE_HOST"),
        "{not_host}"
    );

    // The host goes down; the operator still answers, and after a restart.
    drop(host);
    assert!(holds_the_book(&operator), "reads answer with the host down");
    drop(operator);
    let operator = start(&operator_config);
    assert!(holds_the_book(&operator), "the replica survives a restart");
}

/// What a node answers a BOOK_SYNC from a session of a fresh key.
fn book_sync_refusal(quic: std::net::SocketAddr) -> String {
    use avrs_node::native::client::{ClientOptions, Session};
    use avrs_proto::avrs::cluster::BookSync;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut session = Session::connect(quic, ClientOptions::default())
            .await
            .unwrap();
        let request = BookSync {
            nonce: [1; 16],
            have: None,
            offset: 0,
        };
        let refusal = session.book_sync(&request).await.unwrap_err();
        session.close_now();
        refusal.to_string()
    })
}
