//! An HTTP-FLV viewer on its own thread, for the cluster tests: when each
//! video tag arrived, and how many 200 responses it took.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the viewer's thread records.
#[derive(Default)]
struct Seen {
    video: Mutex<Vec<Instant>>,
    /// Responses that started playing (200): more than one means the
    /// server ended a response and the viewer asked again.
    responses: AtomicUsize,
    stop: AtomicBool,
}

pub struct FlvViewer {
    seen: Arc<Seen>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FlvViewer {
    pub fn start(http: SocketAddr, path: &str) -> Self {
        let seen = Arc::new(Seen::default());
        let (sink, path) = (seen.clone(), path.to_owned());
        let thread = std::thread::spawn(move || read_flv(http, &path, &sink));
        Self {
            seen,
            thread: Some(thread),
        }
    }

    /// Video tags received so far.
    pub fn frames(&self) -> usize {
        self.seen.video.lock().unwrap().len()
    }

    /// When the newest video tag arrived.
    pub fn last(&self) -> Option<Instant> {
        self.seen.video.lock().unwrap().last().copied()
    }

    /// Video tags received after `since`.
    pub fn frames_after(&self, since: Instant) -> usize {
        let video = self.seen.video.lock().unwrap();
        video.iter().filter(|at| **at > since).count()
    }

    /// 200 responses so far.
    pub fn responses(&self) -> usize {
        self.seen.responses.load(Ordering::Relaxed)
    }
}

impl Drop for FlvViewer {
    fn drop(&mut self) {
        self.seen.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads HTTP-FLV responses, recording each video tag, until `stop` is
/// set. A refusal (not 200) or an ended response is asked again: the
/// server may not have heard of the stream yet.
fn read_flv(http: SocketAddr, path: &str, seen: &Seen) {
    while !seen.stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(http) else {
            return;
        };
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let _ = write!(stream, "GET {path} HTTP/1.0\r\nHost: t\r\n\r\n");
        if !read_tags(&mut stream, seen) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Video tags of one response; false when it was not a 200.
fn read_tags(stream: &mut TcpStream, seen: &Seen) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let mut offset = None;
    while !seen.stop.load(Ordering::Relaxed) {
        let n = match stream.read(&mut chunk) {
            Ok(0) => return true,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(_) => return true,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut at = match offset {
            Some(at) => at,
            None => {
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                if !buf.starts_with(b"HTTP/1.1 200") && !buf.starts_with(b"HTTP/1.0 200") {
                    return false;
                }
                seen.responses.fetch_add(1, Ordering::Relaxed);
                // FLV header (9) and the first previous-tag-size (4).
                end + 4 + 13
            }
        };
        while buf.len() >= at + 11 {
            let size = u32::from_be_bytes([0, buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
            if buf.len() < at + 11 + size + 4 {
                break;
            }
            if buf[at] == 9 {
                seen.video.lock().unwrap().push(Instant::now());
            }
            at += 11 + size + 4;
        }
        offset = Some(at);
    }
    true
}
