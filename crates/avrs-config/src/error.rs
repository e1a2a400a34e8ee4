//! The one error type of this crate.
//!
//! Every message says where the problem is (file and line, or the command-line
//! flag), which key it concerns when there is one, and what was expected, so a
//! user can fix the file without reading the source.

use thiserror::Error;

/// Where a value came from: a line of a config file or a command-line flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `file` as the user named it; `line` counts from 1.
    Line { file: String, line: usize },
    /// A flag such as `--max-connections`.
    Flag(&'static str),
}

impl Origin {
    /// The message prefix for a value of `key`: `avrs.ini:12: key 'x'` or
    /// `--x` (a flag already names its key).
    fn describe(&self, key: &str) -> String {
        match self {
            Origin::Line { file, line } => format!("{file}:{line}: key '{key}'"),
            Origin::Flag(flag) => (*flag).to_owned(),
        }
    }
}

/// Everything that can be wrong with a config file or an override.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The file could not be read at all (missing, a directory, no permission).
    #[error("cannot read config file '{file}': {reason}")]
    Read { file: String, reason: String },

    /// The file is larger than [`crate::ini::MAX_FILE_BYTES`].
    #[error("{file}: expected a config file of at most {limit} bytes, got a larger one")]
    FileTooLarge { file: String, limit: usize },

    /// A line is longer than [`crate::ini::MAX_LINE_BYTES`].
    #[error("{file}:{line}: expected a line of at most {limit} bytes, got a longer one")]
    LineTooLong {
        file: String,
        line: usize,
        limit: usize,
    },

    /// A line holds bytes that are not UTF-8.
    #[error("{file}:{line}: expected UTF-8 text, got bytes that are not UTF-8")]
    NotUtf8 { file: String, line: usize },

    /// A line that is not a section header, a `key = value` pair or a comment.
    #[error("{}: expected {expected}, got '{got}'", syntax_where(.file, *.line, .key.as_deref()))]
    Syntax {
        file: String,
        line: usize,
        key: Option<String>,
        expected: &'static str,
        got: String,
    },

    /// A `key = value` line before the first section header.
    #[error("{file}:{line}: key '{key}' comes before any section; expected it under [avrs]")]
    KeyOutsideSection {
        file: String,
        line: usize,
        key: String,
    },

    /// The same section header appears twice.
    #[error(
        "{file}:{line}: section [{section}] appears twice; expected it once (first on line {first_line})"
    )]
    DuplicateSection {
        file: String,
        line: usize,
        section: String,
        first_line: usize,
    },

    /// The same key appears twice in one section.
    #[error(
        "{file}:{line}: key '{key}' appears twice in [{section}]; expected it once (first on line {first_line})"
    )]
    DuplicateKey {
        file: String,
        line: usize,
        section: String,
        key: String,
        first_line: usize,
    },

    /// A section avrs does not read.
    #[error(
        "{file}:{line}: unknown section [{section}]; expected [avrs], [auth], [vod], [record], [cluster], [policy.NAME] or [record.NAME]"
    )]
    UnknownSection {
        file: String,
        line: usize,
        section: String,
    },

    /// A key that `[avrs]` does not define.
    #[error("{file}:{line}: unknown key '{key}' in [avrs]; {}", unknown_key_hint(*.suggestion))]
    UnknownKey {
        file: String,
        line: usize,
        key: String,
        suggestion: Option<&'static str>,
    },

    /// A known key with a value that is not valid for it.
    #[error("{}: expected {expected}, got '{got}'", .origin.describe(.key))]
    InvalidValue {
        origin: Origin,
        key: &'static str,
        expected: String,
        got: String,
    },
}

fn syntax_where(file: &str, line: usize, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("{file}:{line}: key '{key}'"),
        None => format!("{file}:{line}"),
    }
}

fn unknown_key_hint(suggestion: Option<&str>) -> String {
    match suggestion {
        Some(key) => format!("did you mean '{key}'?"),
        None => format!("expected one of: {}", crate::keys::Key::name_list()),
    }
}

/// Shows untrusted text in a message: control characters escaped and long
/// text cut, so a hostile file cannot flood or garble a terminal.
pub(crate) fn shown(text: &str) -> String {
    const MAX_CHARS: usize = 80;
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
