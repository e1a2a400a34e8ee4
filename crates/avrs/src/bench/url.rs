//! The few URL forms the tools take: `rtmp://HOST[:PORT]/APP/NAME[?QUERY]`
//! and `http://HOST[:PORT]/PATH`. No TLS, no user info: these are tools for
//! a lab, and a wrong URL must be refused with a message, not guessed at.

use anyhow::{Context, Result, bail};

/// An RTMP stream address split the way the protocol wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtmpUrl {
    /// `HOST:PORT`, for connecting.
    pub authority: String,
    /// The application: the first path segment.
    pub app: String,
    /// The stream key: the rest of the path, with any query.
    pub key: String,
    /// `rtmp://HOST:PORT/APP`, which some servers want in `connect`.
    pub tc_url: String,
}

impl RtmpUrl {
    pub fn parse(url: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("rtmp://")
            .with_context(|| format!("not an rtmp:// URL: {url}"))?;
        let (host, path) = split_authority(rest, 1935)?;
        let (app, key) = path
            .split_once('/')
            .filter(|(app, key)| !app.is_empty() && !key.is_empty())
            .with_context(|| format!("{url}: expected rtmp://HOST[:PORT]/APP/NAME"))?;
        Ok(Self {
            tc_url: format!("rtmp://{host}/{app}"),
            authority: host,
            app: app.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// An HTTP resource address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `HOST:PORT`, for connecting and for the `Host` header.
    pub authority: String,
    /// The path with its query, starting with `/`.
    pub path: String,
}

impl HttpUrl {
    pub fn parse(url: &str) -> Result<Self> {
        if url.starts_with("https://") {
            bail!("{url}: https is not supported by the bench; use http://");
        }
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("not an http:// URL: {url}"))?;
        let (authority, path) = split_authority(rest, 80)?;
        Ok(Self {
            authority,
            path: format!("/{path}"),
        })
    }
}

/// `HOST[:PORT]/REST` to `("HOST:PORT", "REST")`.
fn split_authority(rest: &str, default_port: u16) -> Result<(String, &str)> {
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() || host.contains('@') {
        bail!("missing or unsupported host in {rest:?}");
    }
    // A bracketed IPv6 literal has colons of its own.
    let has_port = match host.rfind(']') {
        Some(end) => host[end..].contains(':'),
        None => host.contains(':'),
    };
    let authority = if has_port {
        host.to_owned()
    } else {
        format!("{host}:{default_port}")
    };
    Ok((authority, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtmp_urls() {
        let url = RtmpUrl::parse("rtmp://127.0.0.1:1936/live/b?key=1").unwrap();
        assert_eq!(url.authority, "127.0.0.1:1936");
        assert_eq!((url.app.as_str(), url.key.as_str()), ("live", "b?key=1"));
        assert_eq!(url.tc_url, "rtmp://127.0.0.1:1936/live");
        let url = RtmpUrl::parse("rtmp://example.org/app/a/b").unwrap();
        assert_eq!(url.authority, "example.org:1935");
        assert_eq!(url.key, "a/b");
        assert_eq!(
            RtmpUrl::parse("rtmp://[::1]/x/y").unwrap().authority,
            "[::1]:1935"
        );
        assert!(RtmpUrl::parse("rtmp://host/onlyapp").is_err());
        assert!(RtmpUrl::parse("http://host/a/b").is_err());
    }

    #[test]
    fn http_urls() {
        let url = HttpUrl::parse("http://127.0.0.1:8080/live/b.flv").unwrap();
        assert_eq!(url.authority, "127.0.0.1:8080");
        assert_eq!(url.path, "/live/b.flv");
        assert_eq!(HttpUrl::parse("http://h").unwrap().path, "/");
        assert_eq!(HttpUrl::parse("http://h").unwrap().authority, "h:80");
        assert!(HttpUrl::parse("https://h/x").is_err());
    }
}
