//! One line of an INI file, read on its own: blank, comment, section header or
//! `key = value`.

/// What a line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// Empty, white space only, or a comment line.
    Blank,
    /// `[name]`, name without the brackets.
    Section(&'a str),
    /// `key = value`, value with its quotes and inline comment removed.
    Pair { key: &'a str, value: &'a str },
}

/// Why a line could not be read; the caller adds file and line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineError {
    pub key: Option<String>,
    pub expected: &'static str,
    pub got: String,
}

/// Reads one line (without its `\n`; a trailing `\r` is tolerated).
pub(crate) fn classify(line: &str) -> Result<Line<'_>, LineError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
        return Ok(Line::Blank);
    }
    if let Some(rest) = trimmed.strip_prefix('[') {
        return section(rest, trimmed);
    }
    pair(line, trimmed)
}

fn section<'a>(after_bracket: &'a str, whole: &str) -> Result<Line<'a>, LineError> {
    let error = |expected| LineError {
        key: None,
        expected,
        got: whole.to_owned(),
    };
    let (name, rest) = after_bracket
        .split_once(']')
        .ok_or_else(|| error("a section header closed by ']'"))?;
    if !is_blank_or_comment(rest) {
        return Err(error("only a comment after the section header"));
    }
    let name = name.trim();
    if !is_name(name) {
        return Err(error(
            "a section name made of letters, digits, '_', '.' and '-'",
        ));
    }
    Ok(Line::Section(name))
}

fn pair<'a>(line: &'a str, trimmed: &str) -> Result<Line<'a>, LineError> {
    let Some((key, raw_value)) = line.split_once('=') else {
        return Err(LineError {
            key: None,
            expected: "'[section]', 'key = value' or a comment",
            got: trimmed.to_owned(),
        });
    };
    let key = key.trim();
    if !is_name(key) {
        return Err(LineError {
            key: None,
            expected: KEY_EXPECTED,
            got: key.to_owned(),
        });
    }
    let value = value(raw_value).map_err(|expected| LineError {
        key: Some(key.to_owned()),
        expected,
        got: raw_value.trim().to_owned(),
    })?;
    Ok(Line::Pair { key, value })
}

const KEY_EXPECTED: &str = "a key name made of letters, digits, '_', '.' and '-' before '='";

/// The value after `=`: quotes removed, or an inline comment cut off.
fn value(raw: &str) -> Result<&str, &'static str> {
    let start = raw.trim_start();
    let Some(quoted) = start.strip_prefix('"') else {
        let end = inline_comment_start(raw).unwrap_or(raw.len());
        let value = raw[..end].trim();
        // Written back, such a value needs quotes, and quotes cannot hold
        // '"': refused here rather than written out unreadable.
        if value.starts_with(['#', ';']) && value.contains('"') {
            return Err("no '\"' in a value that starts with '#' or ';'");
        }
        return Ok(value);
    };
    let (inside, rest) = quoted
        .split_once('"')
        .ok_or("a closing '\"' (a quoted value cannot hold '\"')")?;
    if !is_blank_or_comment(rest) {
        return Err("only a comment after the closing '\"'");
    }
    Ok(inside)
}

/// Where an inline comment starts: a `#` or `;` right after white space.
/// A `#` inside a word (`a#b`) belongs to the value.
pub(crate) fn inline_comment_start(text: &str) -> Option<usize> {
    let mut previous = None;
    for (index, c) in text.char_indices() {
        if matches!(c, '#' | ';') && previous.is_some_and(char::is_whitespace) {
            return Some(index);
        }
        previous = Some(c);
    }
    None
}

/// Nothing but white space, or white space and then a comment.
fn is_blank_or_comment(rest: &str) -> bool {
    let trimmed = rest.trim_start();
    trimmed.is_empty() || (rest.starts_with(char::is_whitespace) && trimmed.starts_with(['#', ';']))
}

/// Section and key names: ASCII letters, digits, `_`, `.`, `-`.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `value` as it must be written after `key = ` to be read back unchanged:
/// in double quotes when it is empty, has white space at either end, starts
/// with a quote, or holds what would read as an inline comment.
///
/// A value that needs quotes and also holds `"` cannot be written; the
/// typed layer never produces one (it refuses `"` in free text).
pub fn quote_if_needed(value: &str) -> std::borrow::Cow<'_, str> {
    let needs_quotes = value.is_empty()
        || value.trim() != value
        || value.starts_with(['"', '#', ';'])
        || inline_comment_start(value).is_some();
    if needs_quotes {
        format!("\"{value}\"").into()
    } else {
        value.into()
    }
}
