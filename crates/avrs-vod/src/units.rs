//! Values of the `[vod]` and `[record.NAME]` keys: durations, byte sizes,
//! switches, and name patterns. Each parser says what it expected.

use std::time::Duration;

/// `500ms`, `30s`, `15m`, `2h`, `7d` (a bare number is seconds).
pub fn duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = split_unit(text);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 30s, 15m, 2h or 7d"))?;
    let millis = match unit {
        "ms" => Some(value),
        "" | "s" => value.checked_mul(1000),
        "m" => value.checked_mul(60_000),
        "h" => value.checked_mul(3_600_000),
        "d" => value.checked_mul(86_400_000),
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (ms, s, m, h, d)")),
    };
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// `1048576`, `512KiB`, `100MiB`, `4GiB`, `1TiB`, or the decimal `KB MB GB TB`.
pub fn byte_size(text: &str) -> Result<u64, String> {
    let (number, unit) = split_unit(text);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 512MiB or 4GiB"))?;
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"
            ));
        }
    };
    value
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// `yes/no`, `true/false`, `on/off`, `1/0`.
pub fn boolean(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("{text:?} is not yes or no")),
    }
}

fn split_unit(text: &str) -> (&str, &str) {
    let text = text.trim();
    let at = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    (&text[..at], text[at..].trim())
}

/// A name pattern: `*` matches any run of characters (also `/`), `?` one
/// character; everything else matches itself. Linear in practice: at most
/// 64 `*` per pattern are accepted by the config parser.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                // Let the last `*` take one more character and retry.
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse_and_refuse_with_a_reason() {
        assert_eq!(duration("4s").unwrap(), Duration::from_secs(4));
        assert_eq!(duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(duration("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert!(duration("4 parsecs").unwrap_err().contains("unknown unit"));
        assert!(duration("").is_err());
        assert_eq!(byte_size("4GiB").unwrap(), 4 << 30);
        assert_eq!(byte_size("10MB").unwrap(), 10_000_000);
        assert!(
            byte_size("99999999999TiB")
                .unwrap_err()
                .contains("too large")
        );
        assert!(boolean("maybe").is_err());
    }

    #[test]
    fn patterns_match_like_globs() {
        assert!(pattern_matches("live/show*", "live/show-1"));
        assert!(pattern_matches("*", "anything/at/all"));
        assert!(pattern_matches("live/?", "live/a"));
        assert!(!pattern_matches("live/?", "live/ab"));
        assert!(pattern_matches("live/*/hd", "live/x/y/hd"));
        assert!(!pattern_matches("live/show", "live/show2"));
    }
}
