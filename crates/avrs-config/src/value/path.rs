//! File and directory paths.

use super::Problem;
use std::path::{Path, PathBuf};

/// Reads a path. A relative path is taken relative to `base` (the config
/// file's directory), so a file keeps working when started from elsewhere.
/// Whether the path exists is not checked here: the part of avrs that opens
/// it does, and says so.
pub(crate) fn file_path(text: &str, base: &Path) -> Result<PathBuf, Problem> {
    // `"` is refused so every path can be written back to a file (a quoted
    // INI value cannot hold one).
    if text.is_empty() || text.chars().any(|c| c.is_control() || c == '"') {
        return Err(Problem::expected(
            "a file path without control characters or '\"'",
        ));
    }
    Ok(base.join(text))
}
