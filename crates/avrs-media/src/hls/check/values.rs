//! The value types of RFC 8216bis §4.2: attribute lists, decimal integers
//! and decimal floating-point numbers. Errors are plain sentences for the
//! checker's violations.

/// One attribute value as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Quoted(&'a str),
    Plain(&'a str),
}

/// A parsed attribute list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Attributes<'a> {
    pairs: Vec<(&'a str, Value<'a>)>,
}

impl<'a> Attributes<'a> {
    /// Parses `NAME=value,NAME="quoted",...`.
    pub(crate) fn parse(text: &'a str) -> Result<Self, String> {
        let mut pairs: Vec<(&str, Value<'_>)> = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let (name, after) = rest
                .split_once('=')
                .ok_or_else(|| format!("attribute without '=' in {text:?}"))?;
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(format!("bad attribute name {name:?}"));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(format!("attribute {name} given twice"));
            }
            let (value, after) = split_value(after)?;
            pairs.push((name, value));
            rest = match after.strip_prefix(',') {
                Some("") => return Err("trailing comma".into()),
                Some(next) => next,
                None if after.is_empty() => after,
                None => return Err(format!("junk after attribute {name}")),
            };
        }
        Ok(Self { pairs })
    }

    pub(crate) fn get(&self, name: &str) -> Option<Value<'a>> {
        self.pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// A required quoted-string attribute.
    pub(crate) fn quoted(&self, name: &str) -> Result<&'a str, String> {
        match self.get(name) {
            Some(Value::Quoted(text)) => Ok(text),
            Some(Value::Plain(_)) => Err(format!("{name} must be a quoted-string")),
            None => Err(format!("{name} is required")),
        }
    }

    /// An optional decimal-floating-point attribute.
    pub(crate) fn float(&self, name: &str) -> Result<Option<f64>, String> {
        match self.get(name) {
            Some(Value::Plain(text)) => decimal_float(text).map(Some),
            Some(Value::Quoted(_)) => Err(format!("{name} must not be quoted")),
            None => Ok(None),
        }
    }

    /// An optional enumerated-string attribute.
    pub(crate) fn enumerated(&self, name: &str) -> Result<Option<&'a str>, String> {
        match self.get(name) {
            Some(Value::Plain(text)) => Ok(Some(text)),
            Some(Value::Quoted(_)) => Err(format!("{name} must not be quoted")),
            None => Ok(None),
        }
    }
}

fn split_value(text: &str) -> Result<(Value<'_>, &str), String> {
    if let Some(quoted) = text.strip_prefix('"') {
        let end = quoted
            .find('"')
            .ok_or_else(|| "unterminated quoted-string".to_string())?;
        if end == 0 {
            return Err("empty quoted-string".into());
        }
        return Ok((Value::Quoted(&quoted[..end]), &quoted[end + 1..]));
    }
    let end = text.find(',').unwrap_or(text.len());
    if end == 0 {
        return Err("empty attribute value".into());
    }
    Ok((Value::Plain(&text[..end]), &text[end..]))
}

/// decimal-integer: 1 to 20 digits, at most 2^64 - 1.
pub(crate) fn decimal_integer(text: &str) -> Result<u64, String> {
    let digits = !text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| text.parse().ok())
        .flatten()
        .ok_or_else(|| format!("{text:?} is not a decimal-integer"))
}

/// decimal-floating-point: digits with at most one '.', no sign, no
/// exponent.
pub(crate) fn decimal_float(text: &str) -> Result<f64, String> {
    let well_formed = text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|&b| b == b'.').count() <= 1;
    well_formed
        .then(|| text.parse::<f64>().ok())
        .flatten()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{text:?} is not a decimal-floating-point"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_and_plain_values() {
        let attrs = Attributes::parse(r#"DURATION=0.5,URI="a,b.m4s",INDEPENDENT=YES"#).unwrap();
        assert_eq!(attrs.float("DURATION"), Ok(Some(0.5)));
        assert_eq!(attrs.quoted("URI"), Ok("a,b.m4s"));
        assert_eq!(attrs.enumerated("INDEPENDENT"), Ok(Some("YES")));
        assert_eq!(attrs.enumerated("GAP"), Ok(None));
        assert!(attrs.quoted("DURATION").is_err());
        assert!(attrs.float("URI").is_err());
        assert!(attrs.quoted("BYTERANGE").is_err());
    }

    #[test]
    fn rejects_broken_lists() {
        for text in [
            "URI",
            "uri=\"x\"",
            "=1",
            "A=1,A=2",
            "A=\"x",
            "A=\"\"",
            "A=",
            "A=1,",
            "A=\"x\"y",
            "A=1,,B=2",
        ] {
            assert!(Attributes::parse(text).is_err(), "{text}");
        }
        assert_eq!(Attributes::parse(""), Ok(Attributes::default()));
    }

    #[test]
    fn numbers_follow_the_rfc_grammar() {
        assert_eq!(decimal_integer("18446744073709551615"), Ok(u64::MAX));
        assert!(decimal_integer("18446744073709551616").is_err());
        assert!(decimal_integer("-1").is_err());
        assert!(decimal_integer("").is_err());
        assert_eq!(decimal_float("2"), Ok(2.0));
        assert_eq!(decimal_float(".5"), Ok(0.5));
        assert_eq!(decimal_float("2."), Ok(2.0));
        for bad in ["", ".", "1.2.3", "-1", "1e3", "inf", " 1"] {
            assert!(decimal_float(bad).is_err(), "{bad}");
        }
        assert!(
            decimal_float(&"9".repeat(400)).is_err(),
            "overflows to infinity"
        );
    }
}
