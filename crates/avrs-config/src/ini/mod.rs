//! A small INI reader written for avrs.
//!
//! Why not `rust-ini`: it does not keep line numbers, and every error of an
//! avrs config must name the line. This reader keeps the line of every
//! section and key.
//!
//! The dialect:
//! - `[name]` opens a section; names and keys are ASCII letters, digits,
//!   `_`, `.` and `-`, compared exactly (case matters).
//! - `key = value`; white space around both is trimmed.
//! - Lines starting with `#` or `;` are comments. An inline comment starts at
//!   a `#` or `;` that follows white space: `a = 1 # one` is `1`, but
//!   `a = x#y` is `x#y`.
//! - A value may be wrapped in double quotes to keep white space, `#` or `;`
//!   (`a = " x # y "`); there are no escapes, so a quoted value holds no `"`.
//! - `\r\n` line ends and a UTF-8 byte order mark are accepted.
//! - A section that appears twice, or a key that appears twice in a section,
//!   is an error: silently taking the first or the last hides mistakes.
//! - The file is untrusted: it may hold at most [`MAX_FILE_BYTES`], each
//!   line at most [`MAX_LINE_BYTES`], and must be UTF-8.

mod line;
#[cfg(test)]
mod tests;

pub use line::quote_if_needed;

use crate::error::{ConfigError, shown};
use line::{Line, LineError, classify};
use std::collections::HashMap;

/// The largest config file accepted: 1 MiB.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// The longest line accepted, in bytes: room for any path.
pub const MAX_LINE_BYTES: usize = 8192;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A parsed file: its sections in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub sections: Vec<Section>,
}

/// One `[name]` section and its entries in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// The line of the header, from 1.
    pub line: usize,
    pub entries: Vec<Entry>,
}

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    /// The line of the key, from 1.
    pub line: usize,
}

impl Document {
    /// Reads a whole file. `file` names it in errors.
    pub fn parse(bytes: &[u8], file: &str) -> Result<Self, ConfigError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(ConfigError::FileTooLarge {
                file: file.to_owned(),
                limit: MAX_FILE_BYTES,
            });
        }
        let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
        let mut builder = Builder::new(file);
        for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            builder.line = index + 1;
            let text = builder.check_line(raw)?;
            let line = classify(text).map_err(|e| builder.syntax(e))?;
            builder.add(line)?;
        }
        Ok(builder.document)
    }

    /// The section called `name`, if the file has one.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
}

/// Collects sections and entries, refusing duplicates.
struct Builder<'f> {
    file: &'f str,
    line: usize,
    document: Document,
    section_lines: HashMap<String, usize>,
    key_lines: HashMap<String, usize>,
}

impl<'f> Builder<'f> {
    fn new(file: &'f str) -> Self {
        Self {
            file,
            line: 0,
            document: Document::default(),
            section_lines: HashMap::new(),
            key_lines: HashMap::new(),
        }
    }

    /// Length and encoding checks, before the line is looked at.
    fn check_line<'b>(&self, raw: &'b [u8]) -> Result<&'b str, ConfigError> {
        if raw.len() > MAX_LINE_BYTES {
            return Err(ConfigError::LineTooLong {
                file: self.file.to_owned(),
                line: self.line,
                limit: MAX_LINE_BYTES,
            });
        }
        std::str::from_utf8(raw).map_err(|_| ConfigError::NotUtf8 {
            file: self.file.to_owned(),
            line: self.line,
        })
    }

    fn syntax(&self, error: LineError) -> ConfigError {
        ConfigError::Syntax {
            file: self.file.to_owned(),
            line: self.line,
            key: error.key.as_deref().map(shown),
            expected: error.expected,
            got: shown(&error.got),
        }
    }

    fn add(&mut self, line: Line<'_>) -> Result<(), ConfigError> {
        match line {
            Line::Blank => Ok(()),
            Line::Section(name) => self.open_section(name),
            Line::Pair { key, value } => self.add_entry(key, value),
        }
    }

    fn open_section(&mut self, name: &str) -> Result<(), ConfigError> {
        if let Some(&first_line) = self.section_lines.get(name) {
            return Err(ConfigError::DuplicateSection {
                file: self.file.to_owned(),
                line: self.line,
                section: shown(name),
                first_line,
            });
        }
        self.section_lines.insert(name.to_owned(), self.line);
        self.key_lines.clear();
        self.document.sections.push(Section {
            name: name.to_owned(),
            line: self.line,
            entries: Vec::new(),
        });
        Ok(())
    }

    fn add_entry(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let Some(section) = self.document.sections.last_mut() else {
            return Err(ConfigError::KeyOutsideSection {
                file: self.file.to_owned(),
                line: self.line,
                key: shown(key),
            });
        };
        if let Some(&first_line) = self.key_lines.get(key) {
            return Err(ConfigError::DuplicateKey {
                file: self.file.to_owned(),
                line: self.line,
                section: shown(&section.name),
                key: shown(key),
                first_line,
            });
        }
        self.key_lines.insert(key.to_owned(), self.line);
        section.entries.push(Entry {
            key: key.to_owned(),
            value: value.to_owned(),
            line: self.line,
        });
        Ok(())
    }
}
