//! Import, playback and delete on an S3-protocol server (s3s-fs; skipped
//! with a reason when it is not installed).

mod support;
mod vod_common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use vod_common::*;

/// `s3s-fs` on an ephemeral port, killed on drop.
struct S3 {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_s3(root: &Path) -> Option<S3> {
    let spawned = Command::new("s3s-fs")
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--access-key",
            "AKTEST",
            "--secret-key",
            "SKTEST",
        ])
        .arg(root)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = spawned else {
        eprintln!(
            "skipped: s3s-fs not found (cargo install s3s-fs@0.14.1 --locked --features binary)"
        );
        return None;
    };
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut endpoint = None;
    let mut lines = lines.map_while(Result::ok);
    for line in lines.by_ref() {
        if let Some(at) = line.find("http://") {
            endpoint = Some(line[at..].trim().to_owned());
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Some(S3 {
        child,
        endpoint: endpoint.expect("s3s-fs prints its address"),
    })
}

#[test]
fn import_and_playback_on_an_s3_protocol_store() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    std::fs::create_dir_all(root.join("media")).unwrap();
    let Some(s3) = start_s3(&root) else { return };
    std::fs::write(dir.path().join("secret"), "SKTEST\n").unwrap();
    let config = dir.path().join("avrs.ini");
    std::fs::write(
        &config,
        format!(
            "[vod]\nstore = s3\ns3_endpoint = {}\ns3_bucket = media\ns3_access_key = AKTEST\n\
         s3_secret_key_file = secret\ns3_allow_http = yes\n",
            s3.endpoint
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let file = make_media(dir.path(), "in.flv", 5);
    let output = avrs(&[
        "vod",
        "import",
        file.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let id = imported_id(&output);
    assert!(
        root.join("media").join(&id).join("seg0.m4s").exists(),
        "segments are in the bucket"
    );
    assert!(objects(&data).is_empty(), "nothing in the local store");
    let server = start_with_config(&data, &config);
    assert_eq!(vod_list(server.http).len(), 1);
    let seconds = decode_hls(server.http, &format!("/vod/{id}/index.m3u8"));
    assert!((seconds - 5.0).abs() < 0.1, "{seconds}");
    let deleted = avrs(&[
        "vod",
        "delete",
        &id,
        "--server",
        &format!("http://{}", server.http),
    ]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert!(!root.join("media").join(&id).join("seg0.m4s").exists());
}
