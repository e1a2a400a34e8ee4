//! Just enough of the Chrome DevTools protocol to ask a headless Chromium
//! what a page shows: start it, find the page's WebSocket, evaluate
//! expressions. The WebSocket client (RFC 6455) is the minimum: text
//! frames out (masked, as clients must), whole messages in.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A headless Chromium showing one page; killed on drop.
pub struct Browser {
    child: Child,
    page: Socket,
    next_id: u64,
}

impl Browser {
    /// The installed Chromium's name, if any.
    pub fn find() -> Option<&'static str> {
        ["chromium", "chromium-browser", "google-chrome"]
            .into_iter()
            .find(|name| {
                Command::new(name)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
    }

    /// Starts `binary` on `url` with its profile in `profile`.
    pub fn open(binary: &str, url: &str, profile: &Path) -> Self {
        let mut child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--mute-audio",
            ])
            .args([
                "--autoplay-policy=no-user-gesture-required",
                "--no-first-run",
            ])
            .arg("--remote-debugging-port=0")
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let mut lines = BufReader::new(child.stderr.take().unwrap())
            .lines()
            .map_while(Result::ok);
        let browser_ws = lines
            .by_ref()
            .find_map(|l| {
                l.split_once("DevTools listening on ")
                    .map(|(_, u)| u.to_owned())
            })
            .expect("chromium prints its DevTools address");
        std::thread::spawn(move || lines.for_each(drop));
        let authority = browser_ws
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let targets: Vec<serde_json::Value> =
            serde_json::from_str(&target_list(&authority)).expect("target list");
        let page = targets
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target");
        Self {
            child,
            page: Socket::connect(page),
            next_id: 1,
        }
    }

    /// The value of a JavaScript expression in the page.
    pub fn evaluate(&mut self, expression: &str) -> serde_json::Value {
        let id = self.next_id;
        self.next_id += 1;
        let call = serde_json::json!({
            "id": id,
            "method": "Runtime.evaluate",
            "params": { "expression": expression, "returnByValue": true },
        });
        self.page.send(&call.to_string());
        loop {
            let reply: serde_json::Value = serde_json::from_str(&self.page.receive()).unwrap();
            if reply["id"] == id {
                return reply["result"]["result"]["value"].clone();
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET /json/list`: DevTools answers HTTP/1.1 only, and keeps the
/// connection open, so the body is read by its Content-Length.
fn target_list(authority: &str) -> String {
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /json/list HTTP/1.1\r\nHost: {authority}\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end().to_ascii_lowercase();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
    }
    assert!(length < 1 << 20, "a target list of {length} bytes");
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

/// A client WebSocket.
struct Socket(TcpStream);

impl Socket {
    fn connect(url: &str) -> Self {
        let rest = url.strip_prefix("ws://").expect("ws:// URL");
        let (authority, path) = rest.split_once('/').unwrap();
        let mut stream = TcpStream::connect(authority).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "GET /{path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Self(stream)
    }

    /// One masked text frame (the zero mask leaves the payload as is).
    fn send(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[0; 4]);
        frame.extend_from_slice(payload);
        self.0.write_all(&frame).unwrap();
    }

    /// The next whole text message (continuations joined, pings skipped).
    fn receive(&mut self) -> String {
        let mut message = Vec::new();
        loop {
            let mut header = [0u8; 2];
            self.0.read_exact(&mut header).unwrap();
            let (fin, opcode) = (header[0] & 0x80 != 0, header[0] & 0x0f);
            let length = match header[1] & 0x7f {
                126 => {
                    let mut n = [0u8; 2];
                    self.0.read_exact(&mut n).unwrap();
                    u64::from(u16::from_be_bytes(n))
                }
                127 => {
                    let mut n = [0u8; 8];
                    self.0.read_exact(&mut n).unwrap();
                    u64::from_be_bytes(n)
                }
                n => u64::from(n),
            };
            assert!(length < 64 << 20, "a DevTools message of {length} bytes");
            let mut payload = vec![0u8; length as usize];
            self.0.read_exact(&mut payload).unwrap();
            assert_ne!(opcode, 0x8, "chromium closed the DevTools connection");
            if matches!(opcode, 0x0..=0x2) {
                message.extend_from_slice(&payload);
                if fin {
                    return String::from_utf8(message).unwrap();
                }
            }
        }
    }
}
