//! `avrs serve` with a TLS certificate: HTTPS API (curl verifying our CA),
//! RTMPS and RTMP publishing with HTTPS HTTP-FLV playback (ffmpeg), hostile
//! TLS input that closes only its own connection, and the start-up errors
//! for bad certificate or key files.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{have, wait_until, wait_with_deadline};

/// A CA and a server certificate it signed for localhost and 127.0.0.1.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn make_pki(dir: &Path) -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    // Distinct names: a leaf whose issuer equals its subject looks
    // self-signed to OpenSSL (curl).
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "avrs test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &issuer).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let pki = Pki {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&pki.ca, ca_cert.pem()).unwrap();
    std::fs::write(&pki.cert, cert.pem()).unwrap();
    std::fs::write(&pki.key, key.serialize_pem()).unwrap();
    set_mode(&pki.key, 0o600);
    pki
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn serve_command(data_dir: &Path, pki: &Pki) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_avrs"));
    command
        .args(["serve", "--rtmp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args(["--quic", "127.0.0.1:0", "--reconnect-timeout", "1s"])
        .args(["--https", "127.0.0.1:0", "--rtmps", "127.0.0.1:0"])
        .arg("--tls-cert")
        .arg(&pki.cert)
        .arg("--tls-key")
        .arg(&pki.key)
        .arg("--data-dir")
        .arg(data_dir);
    command
}

/// A running `avrs serve` with TLS listeners; killed on drop.
struct SecureServer {
    child: Child,
    rtmp: SocketAddr,
    quic: SocketAddr,
    https: SocketAddr,
    rtmps: SocketAddr,
}

impl SecureServer {
    fn start(data_dir: &Path, pki: &Pki) -> Self {
        let mut child = serve_command(data_dir, pki)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start avrs serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next = |prefix: &str| {
            lines
                .by_ref()
                .map(|l| l.unwrap())
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("avrs serve prints '{prefix}'"))
        };
        // "avrs listening: rtmp ADDR http ADDR quic ADDR"
        let listening = next("avrs listening:");
        // "avrs secure: https ADDR rtmps ADDR"
        let secure = next("avrs secure:");
        let words: Vec<&str> = listening.split_whitespace().collect();
        let rtmp = words[3].parse().unwrap();
        let quic = words[7].parse().unwrap();
        let words: Vec<&str> = secure.split_whitespace().collect();
        assert_eq!((words[2], words[4]), ("https", "rtmps"), "{secure}");
        let (https, rtmps) = (words[3].parse().unwrap(), words[5].parse().unwrap());
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            rtmp,
            quic,
            https,
            rtmps,
        }
    }
}

impl Drop for SecureServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn curl_https(ca: &Path, url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "10", "--cacert"])
        .arg(ca)
        .arg(url)
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!("curl {url}: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// ffmpeg publishing a test signal to `url` (rtmp:// or rtmps://).
fn publish(url: &str, seconds: u32) -> Child {
    Command::new("ffmpeg")
        .args(["-v", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-tune", "zerolatency", "-g", "30"])
        .args(["-c:a", "aac", "-f", "flv"])
        .arg(url)
        .stdin(Stdio::null())
        .spawn()
        .expect("start ffmpeg publisher")
}

/// ffmpeg reading `seconds` of HTTP-FLV over HTTPS, checking the server
/// certificate against `ca`, into `out`.
fn play_https(ca: &Path, url: &str, seconds: u32, out: &Path) -> Child {
    Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-tls_verify", "1", "-ca_file"])
        .arg(ca)
        .args([
            "-i",
            url,
            "-t",
            &seconds.to_string(),
            "-c",
            "copy",
            "-f",
            "flv",
        ])
        .arg(out)
        .stdin(Stdio::null())
        .spawn()
        .expect("start ffmpeg player")
}

/// Sends `bytes` (then half-closes) to `address` and expects the server to
/// close the connection without answering with anything usable.
fn hostile_connection(address: SocketAddr, bytes: &[u8]) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    // A TLS alert or nothing, then the close; never an RTMP handshake.
    let closed = match stream.read_to_end(&mut answer) {
        Ok(_) => true,
        Err(err) => err.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(closed, "the server closes a bad TLS connection");
    assert!(answer.len() < 64, "answered {} bytes", answer.len());
}

#[test]
fn https_api_rtmps_publish_and_https_flv_playback_survive_bad_tls_input() {
    let curl = Command::new("curl").arg("--version").output();
    if !have("ffmpeg") || !curl.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: ffmpeg or curl is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(&dir.path().join("pki"));
    let server = SecureServer::start(&dir.path().join("data"), &pki);
    let api = format!("https://127.0.0.1:{}/api/streams", server.https.port());
    let body = curl_https(&pki.ca, &api).expect("curl --cacert reaches the HTTPS API");
    assert!(body.trim_start().starts_with('{') || body.trim_start().starts_with('['));

    let mut secure_pub = publish(&format!("rtmps://{}/live/secure", server.rtmps), 12);
    let mut plain_pub = publish(&format!("rtmp://{}/live/plain", server.rtmp), 12);
    let live = wait_until(Duration::from_secs(15), || {
        curl_https(&pki.ca, &api).is_some_and(|b| b.contains("secure") && b.contains("plain"))
    });
    assert!(live, "both publishers are live");

    let secure_out = dir.path().join("secure.flv");
    let plain_out = dir.path().join("plain.flv");
    let https = server.https.port();
    let url = |name: &str| format!("https://127.0.0.1:{https}/live/{name}.flv");
    let mut secure_play = play_https(&pki.ca, &url("secure"), 4, &secure_out);
    let mut plain_play = play_https(&pki.ca, &url("plain"), 4, &plain_out);

    // While they play: garbage, plain RTMP and a cut-off ClientHello on the
    // RTMPS port, garbage on the HTTPS port.
    let mut random = vec![0u8; 600];
    for (i, b) in random.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(151).wrapping_add(7);
    }
    hostile_connection(server.rtmps, &random);
    let mut rtmp_c0c1 = vec![3u8];
    rtmp_c0c1.extend_from_slice(&[0u8; 1536]);
    hostile_connection(server.rtmps, &rtmp_c0c1);
    // A TLS record header announcing a 512-byte ClientHello, then 9 bytes.
    let truncated_hello = [
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    hostile_connection(server.rtmps, &truncated_hello);
    hostile_connection(server.https, &random);

    for (player, out) in [
        (&mut secure_play, &secure_out),
        (&mut plain_play, &plain_out),
    ] {
        let status = wait_with_deadline(player, Duration::from_secs(30)).expect("player ends");
        assert!(status.success(), "HTTPS HTTP-FLV playback of {out:?}");
        let size = std::fs::metadata(out).unwrap().len();
        assert!(size > 50_000, "{out:?} holds media ({size} bytes)");
    }
    native_play_checks_the_certificate_with_ca(&server, &pki, dir.path());

    // The API still answers over HTTPS; the publishers finish cleanly.
    assert!(curl_https(&pki.ca, &api).is_some());
    for publisher in [&mut secure_pub, &mut plain_pub] {
        let status = wait_with_deadline(publisher, Duration::from_secs(30)).expect("ends");
        assert!(status.success(), "publisher exits cleanly");
    }
}

/// `avrs play --ca`: the node's QUIC certificate verified against the CA
/// plays; against another CA the connection is refused, saying why.
fn native_play_checks_the_certificate_with_ca(server: &SecureServer, pki: &Pki, dir: &Path) {
    let play = |ca: &Path, out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_avrs"))
            .arg("play")
            .arg(format!(
                "avrs://127.0.0.1:{}/live/secure",
                server.quic.port()
            ))
            .arg("--ca")
            .arg(ca)
            .args(["--duration", "1", "--out"])
            .arg(out)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let verified = play(&pki.ca, &dir.join("quic-ca.flv"));
    let stderr = String::from_utf8_lossy(&verified.stderr);
    assert!(verified.status.success(), "avrs play --ca: {stderr}");
    assert!(stderr.contains("dropped as corrupted 0"), "{stderr}");
    let size = std::fs::metadata(dir.join("quic-ca.flv")).unwrap().len();
    assert!(size > 10_000, "{size} bytes played");

    let other = make_pki(&dir.join("other-pki"));
    let refused = play(&other.ca, &dir.join("quic-wrong.flv"));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a certificate from another CA");
    assert!(stderr.contains("certificate"), "{stderr}");
}

/// `avrs serve --check` with bad TLS files: exit status 1 and the message.
fn check_error(data_dir: &Path, pki: &Pki) -> String {
    let out = serve_command(data_dir, pki)
        .arg("--check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_tls_files_stop_the_start_with_the_documented_messages() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let pki = make_pki(&dir.path().join("a"));
    let other = make_pki(&dir.path().join("b"));

    let missing = Pki {
        ca: pki.ca.clone(),
        cert: dir.path().join("nope.pem"),
        key: pki.key.clone(),
    };
    let err = check_error(&data, &missing);
    assert!(
        err.contains("TLS certificate file") && err.contains("nope.pem"),
        "{err}"
    );

    set_mode(&pki.key, 0o644);
    let err = check_error(&data, &pki);
    let key = pki.key.display();
    assert!(err.contains("has mode 0644"), "{err}");
    assert!(err.contains(&format!("run `chmod 600 {key}`")), "{err}");
    set_mode(&pki.key, 0o600);

    let mismatched = Pki {
        ca: pki.ca.clone(),
        cert: pki.cert.clone(),
        key: other.key.clone(),
    };
    let err = check_error(&data, &mismatched);
    assert!(err.contains("does not match the certificate"), "{err}");

    // The right files pass the check.
    let out = serve_command(&data, &pki).arg("--check").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tls_certificate_file = "), "{text}");
}
