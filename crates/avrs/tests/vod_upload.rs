//! Resumable uploads end to end: an upload interrupted mid-body resumes
//! with `avrs vod import --resume`; a truncated file is refused by the node
//! with the reason and nothing is listed.

mod support;
mod vod_common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use support::{Server, status_and_body, wait_until};
use vod_common::*;

/// Sends a PATCH announcing the whole body, writes only `part`, and hangs
/// up: an interrupted upload.
fn interrupted_patch(http: SocketAddr, id: &str, offset: u64, total: usize, part: &[u8]) {
    let mut stream = TcpStream::connect(http).unwrap();
    write!(stream, "PATCH /api/vod/uploads/{id} HTTP/1.1\r\nHost: t\r\nUpload-Offset: {offset}\r\nContent-Length: {total}\r\n\r\n").unwrap();
    stream.write_all(part).unwrap();
    stream.flush().unwrap();
    stream.shutdown(std::net::Shutdown::Both).unwrap();
}

fn upload_offset(http: SocketAddr, id: &str) -> Option<u64> {
    let response = request(
        http,
        &format!("HEAD /api/vod/uploads/{id} HTTP/1.0\r\nHost: t\r\n\r\n"),
    );
    response
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("upload-offset: ")
                .map(str::to_owned)
        })
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn an_interrupted_upload_resumes_and_a_bad_one_is_refused() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = make_media(dir.path(), "in.flv", 5);
    let bytes = std::fs::read(&file).unwrap();
    let server = Server::start(&dir.path().join("data"));
    let url = format!("http://{}", server.http);
    let created = request(
        server.http,
        "POST /api/vod/uploads HTTP/1.0\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    );
    let (status, body) = status_and_body(&created);
    assert_eq!(status, 201, "{created}");
    let upload: serde_json::Value = serde_json::from_str(body).unwrap();
    let id = upload["id"].as_str().unwrap().to_owned();
    let half = bytes.len() / 2;
    interrupted_patch(server.http, &id, 0, bytes.len(), &bytes[..half]);
    assert!(
        wait_until(Duration::from_secs(10), || upload_offset(server.http, &id)
            == Some(half as u64)),
        "the server keeps what arrived before the interruption"
    );
    // A PATCH at the wrong offset is refused with the right one.
    let wrong = request(
        server.http,
        &format!(
            "PATCH /api/vod/uploads/{id} HTTP/1.0\r\nHost: t\r\nUpload-Offset: 0\r\nContent-Length: 1\r\n\r\nx"
        ),
    );
    assert_eq!(status_and_body(&wrong).0, 409, "{wrong}");
    assert!(
        wrong
            .to_ascii_lowercase()
            .contains(&format!("upload-offset: {half}")),
        "{wrong}"
    );
    let output = avrs(&[
        "vod",
        "import",
        file.to_str().unwrap(),
        "--server",
        &url,
        "--resume",
        &id,
        "--title",
        "resumed",
        "--chunk-size",
        "1000000",
    ]);
    let vod = imported_id(&output);
    let item = vod_list(server.http)
        .into_iter()
        .find(|i| i["id"] == vod.as_str())
        .expect("listed");
    assert_eq!(item["title"], "resumed");
    assert!((decode_hls(server.http, &format!("/vod/{vod}/index.m3u8")) - 5.0).abs() < 0.1);
    assert_eq!(
        upload_offset(server.http, &id),
        None,
        "the staged upload is gone"
    );

    // A truncated file through the server: refused with the reason, nothing listed.
    let truncated = dir.path().join("truncated.flv");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let output = avrs(&[
        "vod",
        "import",
        truncated.to_str().unwrap(),
        "--server",
        &url,
    ]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("422")
            && stderr.contains("cannot import this file")
            && stderr.contains("truncated"),
        "{stderr}"
    );
    assert_eq!(
        vod_list(server.http).len(),
        1,
        "the server keeps serving, nothing partial listed"
    );
}
