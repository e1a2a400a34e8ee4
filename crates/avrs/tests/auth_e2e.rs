//! Secure sessions end to end: a node started with a config file refuses an
//! RTMP publish without a token and accepts one with a token from
//! `avrs token issue`; HTTP-FLV viewers need a viewer token; a viewer whose
//! token is revoked through the admin API (token + TOTP) is cut off within
//! `heartbeat_interval`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{have, http_get, status_and_body, wait_until, wait_with_deadline};

/// A running `avrs serve --config …`; killed on drop.
struct ConfiguredServer {
    child: Child,
    rtmp: SocketAddr,
    http: SocketAddr,
    quic: SocketAddr,
}

impl Drop for ConfiguredServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn avrs(args: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(args)
        .output()
        .expect("run avrs");
    assert!(
        output.status.success(),
        "avrs {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn start(config: &Path, data_dir: &Path) -> ConfiguredServer {
    let mut child = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--rtmp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args(["--quic", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start avrs serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("avrs listening:"))
        .expect("avrs serve prints its listening line");
    let words: Vec<&str> = listening.split_whitespace().collect();
    let (rtmp, http) = (words[3].parse().unwrap(), words[5].parse().unwrap());
    let quic = words[7].parse().unwrap();
    std::thread::spawn(move || lines.for_each(drop));
    ConfiguredServer {
        child,
        rtmp,
        http,
        quic,
    }
}

/// `avrs token issue …`: (token, jti). The token is the last line.
fn issue(config: &Path, role: &str, content: &str) -> (String, String) {
    let config = config.to_str().unwrap();
    let output = avrs(&[
        "token",
        "issue",
        "--config",
        config,
        "--role",
        role,
        "--content",
        content,
        "--ttl",
        "10m",
        "--subject",
        role,
    ]);
    let text = String::from_utf8(output.stdout).unwrap();
    let token = text.lines().last().unwrap().to_owned();
    let jti = text
        .lines()
        .find_map(|l| l.strip_prefix("jti: "))
        .unwrap()
        .to_owned();
    (token, jti)
}

fn publish(rtmp: SocketAddr, path: &str, seconds: u32) -> Child {
    Command::new("ffmpeg")
        .args(["-v", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-tune", "zerolatency", "-g", "30"])
        .args(["-c:a", "aac", "-f", "flv"])
        .arg(format!("rtmp://{rtmp}/{path}"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ffmpeg")
}

fn is_live(http: SocketAddr, name: &str) -> bool {
    let response = http_get(http, "/api/streams");
    status_and_body(&response)
        .1
        .contains(&format!("\"{name}\""))
}

fn get_with(address: SocketAddr, path: &str, headers: &[(&str, &str)]) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!("GET {path} HTTP/1.0\r\nHost: test\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

fn post(address: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    send("POST", address, path, headers, body)
}

fn send(
    method: &str,
    address: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.0\r\nHost: test\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Content-Type: application/json\r\n\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// `DIR/avrs.ini` of a node with `play = token`, an EdDSA token key and an
/// enrolled admin TOTP secret (`DIR/admin.totp`); `avrs` lines go in
/// `[avrs]`, `sections` after `[auth]`.
fn token_config(dir: &Path, avrs_lines: &str, sections: &str) -> std::path::PathBuf {
    let key = dir.join("token.key");
    avrs(&["keygen", "--alg", "ed25519", "--out", key.to_str().unwrap()]);
    let config = dir.join("avrs.ini");
    std::fs::write(
        &config,
        format!(
            "[avrs]\ndata_dir = data\n{avrs_lines}[auth]\nplay = token\n\
             token_ed25519_key_file = token.key\nadmin_totp_secret_file = admin.totp\n{sections}"
        ),
    )
    .unwrap();
    let enrol = avrs(&["mfa", "enroll", "--config", config.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&enrol.stdout).contains("otpauth://totp/"));
    config
}

#[test]
fn tokens_guard_publish_and_play_and_revocation_cuts_viewers_off() {
    if !have("ffmpeg") {
        eprintln!("skipped: ffmpeg not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = token_config(
        dir.path(),
        "heartbeat_interval = 1s\nreconnect_timeout = 1s\n",
        "",
    );
    let data = dir.path().join("data");
    let server = start(&config, &data);

    // 1. No token: refused, even from loopback; nothing goes live.
    let mut refused = publish(server.rtmp, "live/cam", 5);
    let status = wait_with_deadline(&mut refused, Duration::from_secs(20)).expect("ffmpeg exits");
    assert!(!status.success(), "publish without a token must fail");
    assert!(!is_live(server.http, "live/cam"));

    // 2. With a publisher token from `avrs token issue`: accepted.
    let (publisher, _) = issue(&config, "publisher", "live/cam");
    let mut ffmpeg = publish(server.rtmp, &format!("live/cam?token={publisher}"), 60);
    assert!(
        wait_until(Duration::from_secs(20), || is_live(server.http, "live/cam")),
        "stream did not go live with a token"
    );

    // 3. Viewers: none without a token (401), a viewer token plays.
    let (status, body) = {
        let response = http_get(server.http, "/live/cam.flv");
        let (status, body) = status_and_body(&response);
        (status, body.to_owned())
    };
    assert_eq!(status, 401, "{body}");
    // A native viewer without a token is refused by `play = token`.
    let out = dir.path().join("native.flv");
    let native = support::avrs_play(dir.path())
        .arg(format!("avrs://{}/live/cam", server.quic))
        .arg("--out")
        .arg(&out)
        .args(["--duration", "1"])
        .output()
        .expect("run avrs play");
    let text = String::from_utf8_lossy(&native.stderr);
    assert!(
        !native.status.success(),
        "native play without a token: {text}"
    );
    assert!(text.contains("cannot watch live/cam"), "{text}");
    assert!(body.contains("needs a token"), "{body}");
    let (viewer, viewer_jti) = issue(&config, "viewer", "live/cam");
    let mut flv = TcpStream::connect(server.http).unwrap();
    flv.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        flv,
        "GET /live/cam.flv?token={viewer} HTTP/1.0\r\nHost: t\r\n\r\n"
    )
    .unwrap();
    let mut head = vec![0u8; 4096];
    let n = flv.read(&mut head).unwrap();
    let head = String::from_utf8_lossy(&head[..n]).into_owned();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );

    // A native viewer with the viewer token (in its signed OPEN) plays.
    let native_out = dir.path().join("native-token.flv");
    let mut native = support::avrs_play(dir.path())
        .arg(format!("avrs://{}/live/cam", server.quic))
        .arg("--out")
        .arg(&native_out)
        .args(["--token", &viewer])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run avrs play --token");
    assert!(
        wait_until(Duration::from_secs(20), || {
            std::fs::metadata(&native_out).is_ok_and(|m| m.len() > 4096)
        }),
        "native play with a viewer token wrote nothing"
    );

    // The native session is listed with its subject, content and figures,
    // for a host token; not without a token, nor for the viewer's.
    let (host, _) = issue(&config, "host", "*");
    let bearer = format!("Bearer {host}");
    let native_listed = wait_until(Duration::from_secs(10), || {
        let response = get_with(
            server.http,
            "/api/admin/sessions",
            &[("Authorization", &bearer)],
        );
        let (status, body) = status_and_body(&response);
        let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
            return false;
        };
        status == 200
            && json["sessions"].as_array().is_some_and(|all| {
                all.iter().any(|s| {
                    s["subject"] == "viewer"
                        && s["contents"] == serde_json::json!(["live/cam"])
                        && s["bytes_out"].as_u64().is_some_and(|b| b > 4096)
                        && s["session_id"].as_str().is_some_and(|id| id.len() == 64)
                })
            })
    });
    assert!(
        native_listed,
        "the native viewer's session in /api/admin/sessions"
    );
    let anonymous = http_get(server.http, "/api/admin/sessions");
    assert_eq!(status_and_body(&anonymous).0, 401, "{anonymous}");
    let as_viewer = format!("Bearer {viewer}");
    let refused = get_with(
        server.http,
        "/api/admin/sessions",
        &[("Authorization", &as_viewer)],
    );
    assert_eq!(status_and_body(&refused).0, 403, "{refused}");

    // 4. Revoke the viewer's token through the admin API: host token + TOTP.
    let totp = avrs_auth::totp::Totp::load(&dir.path().join("admin.totp")).unwrap();
    let code = totp.code_at(avrs_auth::unix_now());
    let denied = post(
        server.http,
        "/api/admin/revoke",
        &[("Authorization", &bearer)],
        "{}",
    );
    assert_eq!(status_and_body(&denied).0, 401, "no TOTP: {denied}");
    let body = format!("{{\"jti\":\"{viewer_jti}\"}}");
    let revoked_at = Instant::now();
    let response = post(
        server.http,
        "/api/admin/revoke",
        &[("Authorization", &bearer), ("X-Avrs-Totp", &code)],
        &body,
    );
    assert_eq!(status_and_body(&response).0, 200, "{response}");

    // 5. The viewer's response ends within heartbeat_interval (1 s).
    let mut sink = vec![0u8; 64 * 1024];
    let cut_off = loop {
        match flv.read(&mut sink) {
            Ok(0) => break revoked_at.elapsed(),
            Ok(_) => assert!(
                revoked_at.elapsed() < Duration::from_secs(10),
                "never cut off"
            ),
            Err(err) => panic!("viewer read failed: {err}"),
        }
    };
    assert!(
        cut_off <= Duration::from_millis(1500),
        "cut off after {cut_off:?}"
    );
    // The native viewer is cut off too: its session closes with the code.
    let status =
        wait_with_deadline(&mut native, Duration::from_secs(10)).expect("native viewer cut off");
    let native_cut = revoked_at.elapsed();
    let mut stderr = String::new();
    native
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("MEMBER_SECURITY_ISSUE"), "{stderr}");
    assert!(
        native_cut <= Duration::from_millis(2500),
        "native viewer cut off after {native_cut:?}"
    );
    let again = http_get(server.http, &format!("/live/cam.flv?token={viewer}"));
    let (status, body) = status_and_body(&again);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("revoked"), "{body}");

    // 6. The audit log has the refusal and the revocation, never a token.
    let audit = std::fs::read_to_string(data.join("audit.log")).unwrap();
    assert!(audit.contains("\"event\":\"publish\"") && audit.contains("\"result\":\"deny\""));
    assert!(audit.contains("\"event\":\"revoke\""), "{audit}");
    assert!(audit.contains("\"event\":\"session_closed\""), "{audit}");
    assert!(!audit.contains(&viewer) && !audit.contains(&host) && !audit.contains(&publisher));
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
}

/// ABAC policies through the admin API: a rule set with a host token and
/// TOTP refuses viewers at once, is kept across a restart, and is removed
/// the same way; a policy of the config file cannot be changed (409).
#[test]
fn policies_set_through_the_admin_api_apply_at_once_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = "[policy.fixed]\neffect = deny\nactions = publish\ncidr = 192.168.0.0/16\n";
    let config = token_config(dir.path(), "", fixed);
    let totp = avrs_auth::totp::Totp::load(&dir.path().join("admin.totp")).unwrap();
    let data = dir.path().join("data");
    let server = start(&config, &data);
    let (viewer, _) = issue(&config, "viewer", "live/cam");
    let (host, _) = issue(&config, "host", "*");
    let bearer = format!("Bearer {host}");
    let play = |http| {
        let response = http_get(http, &format!("/live/cam.flv?token={viewer}"));
        let (status, body) = status_and_body(&response);
        (status, body.to_owned())
    };
    assert_eq!(play(server.http).0, 404, "allowed, just not live");

    let listed = get_with(
        server.http,
        "/api/admin/policies",
        &[("Authorization", &bearer)],
    );
    let (status, body) = status_and_body(&listed);
    assert_eq!(status, 200, "{listed}");
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["policies"][0]["name"], "fixed");
    assert_eq!(json["policies"][0]["source"], "config");

    let rule = r#"{"effect":"deny","actions":"play","cidr":"127.0.0.0/8"}"#;
    let path = "/api/admin/policies/no-local";
    let no_totp = send(
        "PUT",
        server.http,
        path,
        &[("Authorization", &bearer)],
        rule,
    );
    assert_eq!(status_and_body(&no_totp).0, 401, "{no_totp}");
    let code = totp.code_at(avrs_auth::unix_now());
    let auth = [("Authorization", bearer.as_str()), ("X-Avrs-Totp", &code)];
    let set = send("PUT", server.http, path, &auth, rule);
    assert_eq!(status_and_body(&set).0, 200, "{set}");
    assert!(set.contains("\"created\":true"), "{set}");
    let (status, body) = play(server.http);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("no-local"), "{body}");
    drop(server);

    // Kept across a restart; the config's policy cannot be changed; the
    // API's is removed with the next TOTP code.
    let server = start(&config, &data);
    assert_eq!(play(server.http).0, 403, "the policy survived the restart");
    let now = avrs_auth::unix_now();
    let (first, next) = (totp.code_at(now), totp.code_at(now + 30));
    let auth = [("Authorization", bearer.as_str()), ("X-Avrs-Totp", &first)];
    let conflict = send("PUT", server.http, "/api/admin/policies/fixed", &auth, rule);
    assert_eq!(status_and_body(&conflict).0, 409, "{conflict}");
    let auth = [("Authorization", bearer.as_str()), ("X-Avrs-Totp", &next)];
    let removed = send("DELETE", server.http, path, &auth, "");
    assert_eq!(status_and_body(&removed).0, 200, "{removed}");
    assert_eq!(play(server.http).0, 404, "allowed again");
    let audit = std::fs::read_to_string(data.join("audit.log")).unwrap();
    assert!(audit.contains("\"event\":\"policy_set\""), "{audit}");
    assert!(audit.contains("\"event\":\"policy_removed\""), "{audit}");
}
