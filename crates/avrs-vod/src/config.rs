//! `[vod]` and `[record.NAME]`: read from the raw sections the config
//! crate keeps, checked here; errors name `file:line`, section and key.

use crate::error::{Result, VodError};
use crate::units;
use avrs_config::ExtensionSection;
use std::path::PathBuf;
use std::time::Duration;

/// Where the media objects live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// Files under a directory (default `DATA_DIR/vod/objects`).
    Local { root: Option<PathBuf> },
    /// Any S3-compatible store.
    S3(S3Config),
}

/// `store = s3` settings.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    /// `http(s)://host:port`; `None`: AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key: Option<String>,
    /// Read from `s3_secret_key_file`, never written in the config itself.
    pub secret_key: Option<String>,
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<set>"))
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// One `[record.NAME]` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRule {
    /// The `NAME` of the section.
    pub name: String,
    /// Stream (or content) names it applies to, e.g. `live/show*`.
    pub pattern: String,
    /// Record live streams whose name matches (else: retention only).
    pub record: bool,
    /// How far back viewers may rewind a running recording.
    pub dvr_window: Duration,
    pub max_age: Option<Duration>,
    pub max_size: Option<u64>,
}

/// Everything the VoD layer is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VodConfig {
    pub store: StoreConfig,
    /// Segments are cut at the first keyframe after this long.
    pub segment_target: Duration,
    /// Largest file import or an upload accepts (whole-file demux: memory).
    pub max_upload_size: u64,
    /// Unfinished uploads older than this are removed at start.
    pub upload_expiry: Duration,
    /// How often a node runs the retention sweep.
    pub retention_interval: Duration,
    pub record: Vec<RecordRule>,
}

impl Default for VodConfig {
    fn default() -> Self {
        Self {
            store: StoreConfig::Local { root: None },
            segment_target: Duration::from_secs(4),
            max_upload_size: 4 << 30,
            upload_expiry: Duration::from_secs(86_400),
            retention_interval: Duration::from_secs(3_600),
            record: Vec::new(),
        }
    }
}

impl VodConfig {
    /// Reads `[vod]` and every `[record.NAME]` of a loaded configuration.
    pub fn from_config(config: &avrs_config::Config) -> Result<Self> {
        let mut vod = Self::default();
        if let Some(section) = config.extension("vod") {
            vod.apply_vod(section)?;
        }
        for section in config.extensions_with_prefix("record.") {
            vod.record.push(record_rule(section)?);
        }
        Ok(vod)
    }

    /// The first rule whose pattern matches `name`.
    pub fn rule_for(&self, name: &str) -> Option<&RecordRule> {
        self.record
            .iter()
            .find(|r| units::pattern_matches(&r.pattern, name))
    }

    fn apply_vod(&mut self, section: &ExtensionSection) -> Result<()> {
        let (mut kind, mut root) = ("local".to_owned(), None);
        let mut s3 = S3Config {
            bucket: String::new(),
            endpoint: None,
            region: "us-east-1".into(),
            access_key: None,
            secret_key: None,
            allow_http: false,
        };
        let (mut bucket_line, mut store_line) = (0, section.section.line);
        for entry in &section.section.entries {
            let fail = |problem: String| error(section, entry.line, &entry.key, problem);
            let value = entry.value.trim();
            match entry.key.as_str() {
                "store" => {
                    if value != "local" && value != "s3" {
                        return Err(fail(format!("{value:?}: expected local or s3")));
                    }
                    kind = value.to_owned();
                    store_line = entry.line;
                }
                "local_path" => root = Some(PathBuf::from(non_empty(value).map_err(fail)?)),
                "s3_bucket" => {
                    s3.bucket = non_empty(value).map_err(fail)?.to_owned();
                    bucket_line = entry.line;
                }
                "s3_endpoint" => {
                    if !(value.starts_with("http://") || value.starts_with("https://")) {
                        return Err(fail(format!(
                            "{value:?}: expected http://HOST:PORT or https://…"
                        )));
                    }
                    s3.endpoint = Some(value.trim_end_matches('/').to_owned());
                }
                "s3_region" => s3.region = non_empty(value).map_err(fail)?.to_owned(),
                "s3_access_key" => s3.access_key = Some(non_empty(value).map_err(fail)?.to_owned()),
                "s3_secret_key_file" => {
                    s3.secret_key = Some(read_secret(section, value).map_err(fail)?);
                }
                "s3_allow_http" => s3.allow_http = units::boolean(value).map_err(fail)?,
                "segment_target" => {
                    let target = units::duration(value).map_err(fail)?;
                    if !(Duration::from_secs(1)..=Duration::from_secs(30)).contains(&target) {
                        return Err(fail(format!("{value}: expected 1s to 30s")));
                    }
                    self.segment_target = target;
                }
                "max_upload_size" => {
                    let size = units::byte_size(value).map_err(fail)?;
                    if !(1 << 20..=64 << 30).contains(&size) {
                        return Err(fail(format!("{value}: expected 1MiB to 64GiB")));
                    }
                    self.max_upload_size = size;
                }
                "upload_expiry" => self.upload_expiry = units::duration(value).map_err(fail)?,
                "retention_interval" => {
                    let every = units::duration(value).map_err(fail)?;
                    if every < Duration::from_secs(1) {
                        return Err(fail(format!("{value}: at least 1s")));
                    }
                    self.retention_interval = every;
                }
                other => return Err(fail(format!("unknown key {other:?} (see docs/vod.md)"))),
            }
        }
        self.store = if kind == "s3" {
            if s3.bucket.is_empty() {
                let line = if bucket_line == 0 {
                    store_line
                } else {
                    bucket_line
                };
                return Err(error(
                    section,
                    line,
                    "s3_bucket",
                    "store = s3 needs s3_bucket".into(),
                ));
            }
            StoreConfig::S3(s3)
        } else {
            StoreConfig::Local { root }
        };
        Ok(())
    }
}

fn record_rule(section: &ExtensionSection) -> Result<RecordRule> {
    let name = section.section.name["record.".len()..].to_owned();
    let mut rule = RecordRule {
        name,
        pattern: String::new(),
        record: true,
        dvr_window: Duration::from_secs(2 * 3600),
        max_age: None,
        max_size: None,
    };
    for entry in &section.section.entries {
        let fail = |problem: String| error(section, entry.line, &entry.key, problem);
        let value = entry.value.trim();
        match entry.key.as_str() {
            "pattern" => {
                let pattern = non_empty(value).map_err(fail)?;
                if pattern.len() > 256 || pattern.matches('*').count() > 8 {
                    return Err(fail("at most 256 characters and 8 '*'".into()));
                }
                rule.pattern = pattern.to_owned();
            }
            "record" => rule.record = units::boolean(value).map_err(fail)?,
            "dvr_window" => rule.dvr_window = units::duration(value).map_err(fail)?,
            "max_age" => rule.max_age = Some(units::duration(value).map_err(fail)?),
            "max_size" => rule.max_size = Some(units::byte_size(value).map_err(fail)?),
            other => return Err(fail(format!("unknown key {other:?} (see docs/vod.md)"))),
        }
    }
    if rule.pattern.is_empty() {
        let line = section.section.line;
        return Err(error(
            section,
            line,
            "pattern",
            "missing: the stream names this rule applies to, e.g. live/show*".into(),
        ));
    }
    Ok(rule)
}

fn non_empty(value: &str) -> std::result::Result<&str, String> {
    if value.is_empty() {
        Err("empty value".into())
    } else {
        Ok(value)
    }
}

/// The first line of a secret file, relative paths from the config's
/// directory. The message names the file, never its content.
fn read_secret(section: &ExtensionSection, value: &str) -> std::result::Result<String, String> {
    let path = PathBuf::from(non_empty(value)?);
    let path = match (
        path.is_relative(),
        std::path::Path::new(&section.file).parent(),
    ) {
        (true, Some(dir)) => dir.join(path),
        _ => path,
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let secret = text.lines().next().unwrap_or("").trim();
    non_empty(secret)
        .map(str::to_owned)
        .map_err(|_| format!("{} is empty", path.display()))
}

fn error(section: &ExtensionSection, line: usize, key: &str, problem: String) -> VodError {
    VodError::Config {
        file: section.file.clone(),
        line,
        section: section.section.name.clone(),
        key: key.to_owned(),
        problem,
    }
}

#[cfg(test)]
mod tests;
