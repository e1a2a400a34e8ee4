//! LL-HLS output: `GET /live/NAME/index.m3u8` and the files it names
//! (`init{n}.mp4`, `seg{msn}.m4s`, `part{n}.m4s`).
//!
//! - `index.m3u8`: the LL-HLS media playlist, also valid plain HLS. With
//!   `_HLS_msn[&_HLS_part]` it is a blocking reload: held until the stream
//!   has that segment or part, 400 when it is too far ahead, 503 after
//!   three target durations (RFC 8216bis §6.2.5.2). Before the stream's
//!   first complete segment a plain request is held the same way.
//! - The part named by EXT-X-PRELOAD-HINT is held until it exists
//!   (§6.2.6); anything else unknown or out of the window is 404.
//!
//! Caching: playlists `no-cache`, except blocking ones, whose URL names the
//! state they wait for, so any answer stays right (short `max-age`, which
//! lets a CDN collapse the many identical requests of one part). Media
//! files never change, but their names start from 0 again when a new
//! content takes the stream name, so they get `max-age` of three target
//! durations rather than `immutable`. Every answer allows any origin
//! (hls.js in browsers).

use crate::context::NodeContext;
use crate::hls::{HlsStream, PlaylistReply, ResourceReply};
use avrs_media::hls::names::{MP4_CONTENT_TYPE, PLAYLIST_CONTENT_TYPE};
use avrs_media::hls::{Resource, parse_reload_query};
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;

/// The media playlist's name.
pub const PLAYLIST: &str = "index.m3u8";

/// Answers one HLS request for the content `live/{name}`.
pub async fn serve(
    context: Arc<NodeContext>,
    client: IpAddr,
    name: &str,
    file: &str,
    query: Option<&str>,
    authorization: Option<&str>,
) -> Response {
    let content_name = format!("live/{name}");
    let credential = avrs_auth::Credential::from_http(authorization, query);
    let now = avrs_auth::unix_now();
    let authorizer = &context.authorizer;
    // The playlist opens a viewing (audited); segments and parts are
    // checked too, so a revoked token stops working at its next request.
    let first = file == PLAYLIST;
    let checked = authorizer.authorize_clear_play(client, &content_name, credential, now, first);
    if let Err(why) = checked {
        return crate::auth::refusal(&why);
    }
    // A token that came in the URL is carried into the playlist's URIs, so
    // players that only know the playlist URL fetch segments with it.
    let url_token = match (authorization, credential) {
        (None, avrs_auth::Credential::Token(token)) => Some(token),
        _ => None,
    };
    crate::cluster::locate::wait_for_hls(&context, &content_name).await;
    let Some(stream) = context.hls.get(&content_name) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("stream '{content_name}' is not live"),
        );
    };
    if let Err(why) = crate::auth::refuse_sealed(&context, stream.content(), client) {
        return crate::auth::refusal(&why);
    }
    let target_duration = context.hls.settings().target_duration();
    if file == PLAYLIST {
        stream.saw_viewer(client, std::time::Instant::now());
        return playlist(&stream, query, target_duration, url_token).await;
    }
    let Some(resource) = Resource::parse(file) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no file '{file}': use {PLAYLIST}"),
        );
    };
    match stream.resource(resource).await {
        ResourceReply::Ready(chunks) => {
            let cache = cache_for(3 * target_duration);
            ok(&stream, MP4_CONTENT_TYPE, cache, chunks)
        }
        ResourceReply::NotFound => error(
            StatusCode::NOT_FOUND,
            format!("'{file}' is not (or no longer) in the window of '{content_name}'"),
        ),
        ResourceReply::TimedOut => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("'{file}' was not published in time"),
        ),
        ResourceReply::Closed => gone(&content_name),
    }
}

async fn playlist(
    stream: &HlsStream,
    query: Option<&str>,
    target_duration: u64,
    token: Option<&str>,
) -> Response {
    let request = match parse_reload_query(query.unwrap_or("")) {
        Ok(request) => request,
        Err(err) => return error(StatusCode::BAD_REQUEST, err.to_string()),
    };
    match stream.playlist(request).await {
        PlaylistReply::Ready(snapshot) => {
            // A plain request must see the newest state. A blocking one
            // names the state it waited for, so any answer to it stays
            // right: cached one target duration, a CDN collapses the
            // identical requests of every viewer into one.
            let cache = match request {
                Some(_) => cache_for(target_duration),
                None => HeaderValue::from_static("no-cache"),
            };
            ok(
                stream,
                PLAYLIST_CONTENT_TYPE,
                cache,
                vec![with_token(snapshot.playlist(), token)],
            )
        }
        PlaylistReply::TooFar => error(
            StatusCode::BAD_REQUEST,
            "_HLS_msn/_HLS_part is too far ahead of the live edge".to_owned(),
        ),
        PlaylistReply::TimedOut => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the stream did not reach the requested segment or part in time".to_owned(),
        ),
        PlaylistReply::Closed => gone(stream.name()),
    }
}

/// A 200 answer of shared pieces: one vectored write, no copy. The length
/// header makes hyper send a known length even for several pieces.
fn ok(
    stream: &HlsStream,
    content_type: &'static str,
    cache: HeaderValue,
    chunks: Vec<Bytes>,
) -> Response {
    let length: usize = chunks.iter().map(Bytes::len).sum();
    stream.count_bytes_out(length);
    let body = match <[Bytes; 1]>::try_from(chunks) {
        Ok([one]) => Body::from(one),
        Err(chunks) => Body::from_stream(stream::iter(chunks.into_iter().map(Ok::<_, Infallible>))),
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, cache);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// The playlist with `?token=TOKEN` added to every URI it names (media
/// lines and `URI="…"` attributes). Only tokens that passed verification
/// reach here, and they hold URL-safe characters only.
fn with_token(playlist: Bytes, token: Option<&str>) -> Bytes {
    let Some(token) = token.filter(|t| avrs_auth::token::is_url_safe(t)) else {
        return playlist;
    };
    let Ok(text) = std::str::from_utf8(&playlist) else {
        return playlist;
    };
    let add = |uri: &str| {
        let sep = if uri.contains('?') { '&' } else { '?' };
        format!("{uri}{sep}token={token}")
    };
    let mut out = String::with_capacity(text.len() + 64 * token.len());
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        if body.is_empty() {
            out.push_str(line);
        } else if !body.starts_with('#') {
            out.push_str(&add(body));
            out.push_str(end);
        } else if let Some(start) = body.find("URI=\"") {
            let value_start = start + 5;
            match body[value_start..].find('"') {
                Some(len) => {
                    out.push_str(&body[..value_start]);
                    out.push_str(&add(&body[value_start..value_start + len]));
                    out.push_str(&body[value_start + len..]);
                    out.push_str(end);
                }
                None => out.push_str(line),
            }
        } else {
            out.push_str(line);
        }
    }
    Bytes::from(out)
}

fn gone(content_name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("stream '{content_name}' is no longer available"),
    )
}

/// An error answer: plain text, never cached, readable cross-origin.
fn error(status: StatusCode, message: String) -> Response {
    let mut response = (status, format!("{message}\n")).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

fn cache_for(seconds: u64) -> HeaderValue {
    HeaderValue::try_from(format!("public, max-age={seconds}"))
        .unwrap_or(HeaderValue::from_static("no-store"))
}
