//! The known-hosts file of native clients: the certificate pinned for each
//! server, one `HOST:PORT sha256:HEX` line per server, `#` comments.
//! Parsing and the decision are pure functions ([`parse`], [`decide`]);
//! [`read`] and [`append`] are the only I/O.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

/// The prefix of a fingerprint's text: names the hash, so another one can
/// be added without a new file format.
const PREFIX: &str = "sha256:";

/// Written at the top of a new file, for whoever opens it.
const HEADER: &str = "# avrs known hosts: the certificate pinned for each native server\n\
# (HOST:PORT sha256:HEX). Remove a server's line to pin its next certificate.\n";

/// The SHA-256 of a certificate (its DER bytes): what is pinned.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of(der: &[u8]) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        let mut bytes = [0u8; 32];
        // SHA-256 digests are 32 bytes: the lengths always agree.
        bytes.copy_from_slice(digest.as_ref());
        Self(bytes)
    }

    /// `sha256:` and 64 hex digits, either case, optionally in colon-separated
    /// pairs as `openssl x509 -fingerprint -sha256` prints them. The error
    /// says what is wrong.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        let prefixed = text
            .get(..PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX));
        if !prefixed {
            return Err("a fingerprint starts with sha256:");
        }
        let digits = &text[PREFIX.len()..];
        let digits = if digits.contains(':') {
            if !digits.split(':').all(|pair| pair.len() == 2) {
                return Err("colons must separate pairs of hex digits");
            }
            digits.replace(':', "")
        } else {
            digits.to_owned()
        };
        let bytes = hex::decode(&digits).map_err(|_| "a fingerprint is hex digits")?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "a SHA-256 fingerprint is 64 hex digits")?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text).map_err(|why| format!("{text:?}: {why}"))
    }
}

/// The key a server's pin is kept under: `HOST:PORT` as the URL has it,
/// host names in lower case (DNS names ignore case).
pub fn server_key(authority: &str) -> String {
    authority.trim().to_ascii_lowercase()
}

/// A file's pins and the lines that could not be read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct KnownHosts {
    pub pins: Vec<Pin>,
    pub malformed: Vec<Malformed>,
}

/// One line's pin.
#[derive(Debug, PartialEq, Eq)]
pub struct Pin {
    /// 1-based, as an editor shows it.
    pub line: usize,
    pub server: String,
    pub fingerprint: Fingerprint,
}

/// A line that is neither a pin nor a comment.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed {
    pub line: usize,
    /// The server it seems to name (its first word), if any: a malformed
    /// line refuses that server rather than letting it be pinned anew.
    pub server: Option<String>,
    pub reason: &'static str,
}

/// Reads a known-hosts text. A bad line is kept aside; the others count.
pub fn parse(text: &str) -> KnownHosts {
    let mut known = KnownHosts::default();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        match parse_line(line) {
            Line::Blank => {}
            Line::Pin(server, fingerprint) => known.pins.push(Pin {
                line: number,
                server,
                fingerprint,
            }),
            Line::Bad(server, reason) => known.malformed.push(Malformed {
                line: number,
                server,
                reason,
            }),
        }
    }
    known
}

enum Line {
    Blank,
    Pin(String, Fingerprint),
    Bad(Option<String>, &'static str),
}

fn parse_line(line: &str) -> Line {
    // A `#` starts a comment, at the start of a line or after a field.
    let words: Vec<&str> = line
        .split_whitespace()
        .take_while(|word| !word.starts_with('#'))
        .collect();
    let (server, fingerprint) = match words.as_slice() {
        [] => return Line::Blank,
        [server, fingerprint] => (server_key(server), fingerprint),
        [server, ..] => {
            return Line::Bad(Some(server_key(server)), "expected HOST:PORT sha256:HEX");
        }
    };
    if let Err(why) = check_server(&server) {
        return Line::Bad(Some(server), why);
    }
    match Fingerprint::parse(fingerprint) {
        Ok(fingerprint) => Line::Pin(server, fingerprint),
        Err(why) => Line::Bad(Some(server), why),
    }
}

/// `HOST:PORT`, an IPv6 host in brackets.
fn check_server(server: &str) -> Result<(), &'static str> {
    let Some((host, port)) = server.rsplit_once(':') else {
        return Err("the server is HOST:PORT");
    };
    if port.parse::<u16>().is_err() {
        return Err("the port is a number up to 65535");
    }
    let bracketed = host.starts_with('[') && host.ends_with(']') && host.len() > 2;
    if host.is_empty() || (host.contains(':') && !bracketed) {
        return Err("the host is a name, an IPv4 address or [IPv6]");
    }
    Ok(())
}

/// What the file says about a server presenting a certificate.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A pin of that server matches.
    Known,
    /// The file has nothing about the server: pin it.
    FirstContact,
    /// The server is pinned to another certificate.
    Changed { pinned: Fingerprint, line: usize },
    /// A line about the server cannot be read: refused until it is fixed,
    /// rather than pinning over what may be a mistyped pin.
    Unreadable { line: usize, reason: &'static str },
}

/// The verdict on `server` presenting `presented`. Any matching pin wins
/// (a server may have several lines, as when a certificate is being
/// replaced); then a bad line about it; then any other pin.
pub fn decide(known: &KnownHosts, server: &str, presented: Fingerprint) -> Verdict {
    let mut pins = known.pins.iter().filter(|pin| pin.server == server);
    if pins.clone().any(|pin| pin.fingerprint == presented) {
        return Verdict::Known;
    }
    let bad = known
        .malformed
        .iter()
        .find(|bad| bad.server.as_deref() == Some(server));
    if let Some(bad) = bad {
        return Verdict::Unreadable {
            line: bad.line,
            reason: bad.reason,
        };
    }
    match pins.next() {
        Some(pin) => Verdict::Changed {
            pinned: pin.fingerprint,
            line: pin.line,
        },
        None => Verdict::FirstContact,
    }
}

/// What [`append`] adds after `existing` for `server`: its pin line, after
/// a header in a new file and a line break if the last line lacks one.
pub fn appended(existing: &str, server: &str, fingerprint: Fingerprint) -> String {
    let mut text = String::new();
    if existing.is_empty() {
        text.push_str(HEADER);
    } else if !existing.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("{server} {fingerprint}\n"));
    text
}

/// The file's text; a missing file is an empty one.
pub fn read(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        other => other,
    }
}

/// Appends [`appended`] in one write, creating the file (mode 0600) and
/// its directory. Appending never rewrites other lines, and one small
/// write lands whole even when two players pin at once.
pub fn append(
    path: &Path,
    existing: &str,
    server: &str,
    fingerprint: Fingerprint,
) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(appended(existing, server, fingerprint).as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Fingerprint = Fingerprint([0xaa; 32]);
    const B: Fingerprint = Fingerprint([0xbb; 32]);

    fn line(server: &str, fingerprint: Fingerprint) -> String {
        format!("{server} {fingerprint}\n")
    }

    #[test]
    fn fingerprints_read_back_what_they_print_and_what_openssl_prints() {
        let text = A.to_string();
        assert_eq!(text, format!("sha256:{}", "aa".repeat(32)));
        assert_eq!(Fingerprint::parse(&text), Ok(A));
        let openssl = format!("SHA256:{}", ["BB"; 32].join(":"));
        assert_eq!(Fingerprint::parse(&openssl), Ok(B));
        assert_eq!(Fingerprint::of(b"x"), Fingerprint::of(b"x"));
        assert_ne!(Fingerprint::of(b"x"), Fingerprint::of(b"y"));
        for bad in [
            "aa".repeat(32),
            format!("sha256:{}", "aa".repeat(31)),
            format!("sha256:{}", "zz".repeat(32)),
            format!("sha256:{}", ["aaa"; 21].join(":")),
            "sha256:".into(),
            "sha".into(),
            "ß".into(),
        ] {
            assert!(Fingerprint::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_file_gives_pins_and_numbered_bad_lines() {
        let text = format!(
            "# a comment\n\n{}  [::1]:4433   {B}  # trailing comment\n\
             Stream.Example.org:4433 sha256:1234\n\
             no-port {A}\n\
             lonely\n\
             ::1:4433 {A}\n\
             h:99999 {A}\n",
            line("127.0.0.1:4433", A)
        );
        let known = parse(&text);
        assert_eq!(
            known.pins,
            [
                Pin {
                    line: 3,
                    server: "127.0.0.1:4433".into(),
                    fingerprint: A
                },
                Pin {
                    line: 4,
                    server: "[::1]:4433".into(),
                    fingerprint: B
                },
            ]
        );
        let bad: Vec<(usize, Option<&str>)> = known
            .malformed
            .iter()
            .map(|m| (m.line, m.server.as_deref()))
            .collect();
        assert_eq!(
            bad,
            [
                (5, Some("stream.example.org:4433")),
                (6, Some("no-port")),
                (7, Some("lonely")),
                (8, Some("::1:4433")),
                (9, Some("h:99999")),
            ]
        );
        assert_eq!(
            known.malformed[0].reason,
            "a SHA-256 fingerprint is 64 hex digits"
        );
        assert_eq!(known.malformed[2].reason, "expected HOST:PORT sha256:HEX");
    }

    #[test]
    fn first_contact_same_changed_and_unreadable() {
        let known = parse(&format!(
            "{}{}{}bad.example:4433 sha256:00\n",
            line("a:1", A),
            line("b:1", A),
            line("b:1", B)
        ));
        assert_eq!(decide(&known, "new:1", A), Verdict::FirstContact);
        assert_eq!(decide(&known, "a:1", A), Verdict::Known);
        assert_eq!(
            decide(&known, "a:1", B),
            Verdict::Changed { pinned: A, line: 1 }
        );
        // Two pins (a certificate being replaced): either is accepted.
        assert_eq!(decide(&known, "b:1", A), Verdict::Known);
        assert_eq!(decide(&known, "b:1", B), Verdict::Known);
        // A bad line refuses its own server only.
        assert!(matches!(
            decide(&known, "bad.example:4433", A),
            Verdict::Unreadable { line: 4, .. }
        ));
        assert_eq!(decide(&known, "a:1", A), Verdict::Known);
    }

    #[test]
    fn a_recorded_pin_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/avrs/known_hosts");
        assert_eq!(read(&path).unwrap(), "");
        append(&path, "", "a:1", A).unwrap();
        let text = read(&path).unwrap();
        assert!(text.starts_with("# avrs known hosts"), "{text}");
        assert_eq!(decide(&parse(&text), "a:1", A), Verdict::Known);
        // A last line without its line break is not joined to the new one.
        std::fs::write(&path, line("a:1", A).trim_end()).unwrap();
        append(&path, &read(&path).unwrap(), "b:2", B).unwrap();
        let known = parse(&read(&path).unwrap());
        assert_eq!(known.pins.len(), 2);
        assert!(known.malformed.is_empty());
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
