//! A tiny HTTP/1.1 client for `avrs vod … --server URL` (plain `http://`:
//! a node's API listener), one connection per request, on hyper.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode, header::HeaderMap};
use hyper_util::rt::TokioIo;

/// `http://HOST:PORT` of a node.
#[derive(Debug, Clone)]
pub struct Server {
    authority: String,
}

/// A response: status, headers, whole body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as text, trimmed: servers put the reason of a refusal there.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).trim().to_owned()
    }

    /// Fails with the status and the server's message unless 2xx.
    pub fn ok(self, what: &str) -> Result<Self> {
        if self.status.is_success() {
            return Ok(self);
        }
        bail!(
            "{what}: the server answered {}: {}",
            self.status,
            self.text()
        )
    }
}

impl Server {
    pub fn parse(url: &str) -> Result<Self> {
        let rest = url.strip_prefix("http://").with_context(|| {
            format!("--server {url:?}: expected http://HOST:PORT (the node's HTTP listener)")
        })?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            bail!("--server {url:?}: expected http://HOST:PORT with no path");
        }
        Ok(Self {
            authority: authority.to_owned(),
        })
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<Reply> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("cannot connect to {}", self.authority))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.authority);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(body))
            .context("building the request")?;
        let response = sender
            .send_request(request)
            .await
            .with_context(|| format!("request to {} failed", self.authority))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .context("reading the response")?
            .to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    pub async fn get(&self, path: &str) -> Result<Reply> {
        self.send(Method::GET, path, &[], Bytes::new()).await
    }
}
