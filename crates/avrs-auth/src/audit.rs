//! The audit trail: one JSON object per line, appended to a file (mode
//! 0600). Fields: `time` (RFC 3339 UTC), `event`, `subject`, `peer`,
//! `action`, `content`, `result` (`allow`/`deny`/`ok`), `reason`, `jti`.
//! Secrets and whole tokens are never written; a token appears as its `jti`.

use serde::Serialize;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

/// One security event.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditEvent {
    pub time: String,
    /// `publish`, `play`, `session_closed`, `revoke`, `admin`, `login`, ….
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// Where events go. Writing never fails the request: an I/O error is
/// reported once to the tracing log instead.
#[derive(Debug, Default)]
pub struct AuditLog {
    file: Option<Mutex<std::fs::File>>,
}

impl AuditLog {
    /// No file: events are dropped (tests, `audit_log = off`).
    pub fn disabled() -> Self {
        Self::default()
    }

    pub fn open(path: &Path) -> Result<Self, crate::AuthError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                crate::AuthError::Config(format!("cannot open audit log {}: {e}", path.display()))
            })?;
        Ok(Self {
            file: Some(Mutex::new(file)),
        })
    }

    /// Appends `event`, stamped with `now` when it has no time.
    pub fn record(&self, mut event: AuditEvent, now: std::time::SystemTime) {
        let Some(file) = &self.file else { return };
        if event.time.is_empty() {
            event.time = rfc3339(now);
        }
        let Ok(mut line) = serde_json::to_vec(&event) else {
            return;
        };
        line.push(b'\n');
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        // One write per line: lines of concurrent events never interleave.
        if let Err(err) = file.write_all(&line) {
            tracing_warn(&err);
        }
    }
}

fn tracing_warn(err: &std::io::Error) {
    // avrs-auth has no tracing dependency; stderr is the node's log.
    eprintln!("avrs: audit log write failed: {err}");
}

/// `2023-11-14T22:13:20.123Z`.
pub fn rfc3339(time: std::time::SystemTime) -> String {
    let d = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_are_rfc_3339_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn events_are_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path).unwrap();
        let event = AuditEvent {
            event: "publish",
            subject: Some("alice".into()),
            result: "deny",
            reason: Some("expired".into()),
            jti: Some("j1".into()),
            ..AuditEvent::default()
        };
        log.record(event.clone(), UNIX_EPOCH);
        log.record(event, UNIX_EPOCH);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "publish");
        assert_eq!(lines[0]["time"], "1970-01-01T00:00:00.000Z");
        assert!(lines[0].get("peer").is_none());
    }
}
