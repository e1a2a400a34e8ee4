//! Content name patterns of tokens and policies: an exact name
//! (`live/cam1`), a prefix ending in `/*` (`live/*` covers `live/a` and
//! `live/a/b`, not `live` itself), or `*` for every name.

/// Longest pattern or name accepted (content names are short paths).
pub const MAX_PATTERN_LEN: usize = 512;

/// Whether `pattern` is well formed: not empty, within the cap, and with
/// `*` only as the whole pattern or after a final `/`.
pub fn valid_pattern(pattern: &str) -> bool {
    if pattern.is_empty()
        || pattern.len() > MAX_PATTERN_LEN
        || pattern.chars().any(char::is_control)
    {
        return false;
    }
    if pattern == "*" {
        return true;
    }
    let body = pattern.strip_suffix("/*").unwrap_or(pattern);
    !body.is_empty() && !body.contains('*')
}

/// Whether any of `patterns` covers `name`.
pub fn matches_any(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|pattern| matches(pattern, name))
}

/// Whether `name` is covered by `pattern` (assumed valid).
pub fn matches(pattern: &str, name: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix('*') {
        // "live/*": the prefix "live/" then at least one character.
        Some(prefix) => name.len() > prefix.len() && name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_documented() {
        assert!(matches("live/a", "live/a"));
        assert!(!matches("live/a", "live/ab"));
        assert!(!matches("live/a", "live/a/b"));
        assert!(matches("live/*", "live/a"));
        assert!(matches("live/*", "live/a/b"));
        assert!(!matches("live/*", "live/"));
        assert!(!matches("live/*", "live"));
        assert!(!matches("live/*", "vod/a"));
        assert!(matches("*", "anything/at/all"));
    }

    #[test]
    fn only_whole_or_trailing_stars_are_valid() {
        for good in ["*", "live/*", "live/a", "live/a/*"] {
            assert!(valid_pattern(good), "{good}");
        }
        for bad in ["", "/*", "live*", "li*ve/a", "live/*/a", "**", "a\nb"] {
            assert!(!valid_pattern(bad), "{bad:?}");
        }
        assert!(!valid_pattern(&"a".repeat(MAX_PATTERN_LEN + 1)));
    }
}
