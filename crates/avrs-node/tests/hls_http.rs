//! The LL-HLS HTTP output against a hand-written HTTP client, with frames
//! published straight into the registry (the FLV fixture, looped): files
//! and their headers, errors, blocking reloads, preload hints, timeouts,
//! ended streams, shutdown. Needs no external tool.

mod hls_support;

use avrs_core::live::{ContentLimits, Protocol};
use avrs_node::NodeContext;
use avrs_node::hls::{HlsSettings, HlsStreams};
use hls_support::*;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

fn assert_error(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("*"),
        "{what}"
    );
}

/// Init segment, segments and parts are served with their headers; a
/// segment is its parts back to back; unknown names are 404, bad or
/// too-far delivery directives 400, evicted files 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_headers_and_errors() {
    let node = start_node(Duration::from_secs(5)).await;
    let http = node.http_address;
    assert_error(
        &get(http, "/live/nothing/index.m3u8").await,
        404,
        "unknown stream",
    );

    let (configs, frames) = looped_fixture(20);
    let mut publisher = DirectPublisher::start(&node.context, "live/files", configs).await;
    let (early, late) = frames.split_at(frames.len() / 4);
    publisher.push(early).await;

    // Before any playlist fetch, the packager is no HLS viewer.
    let content = node.context.registry.get("live/files").unwrap();
    assert_eq!(content.stats.viewers(Protocol::Hls), 0);
    assert_eq!(content.stats.viewers(Protocol::Internal), 1, "the packager");

    let reply = get(http, "/live/files/index.m3u8").await;
    let report = check_version(&reply, None);
    assert_eq!(
        content.stats.viewers(Protocol::Hls),
        1,
        "one client address"
    );
    get(http, "/live/files/index.m3u8").await;
    assert_eq!(
        content.stats.viewers(Protocol::Hls),
        1,
        "the same client again"
    );
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert!(report.segments.len() >= 2, "{}", reply.text());
    assert!(reply.text().contains("PART-TARGET=0.35000"));

    let init = get(http, "/live/files/init0.mp4").await;
    assert_eq!(init.status, 200);
    assert_eq!(init.header("content-type"), Some("video/mp4"));
    assert_eq!(init.header("cache-control"), Some("public, max-age=6"));
    assert_eq!(init.header("access-control-allow-origin"), Some("*"));
    assert_eq!(&init.body[4..8], b"ftyp");

    for segment in &report.segments {
        let whole = get(http, &format!("/live/files/{}", segment.uri)).await;
        assert_eq!(whole.status, 200, "{}", segment.uri);
        assert_eq!(whole.header("content-type"), Some("video/mp4"));
        assert_eq!(
            whole.header("content-length"),
            Some(whole.body.len().to_string().as_str())
        );
        let mut joined = Vec::new();
        for part in &segment.parts {
            let part = get(http, &format!("/live/files/{}", part.uri)).await;
            assert_eq!(part.status, 200);
            joined.extend_from_slice(&part.body);
        }
        if !segment.parts.is_empty() {
            assert_eq!(joined, whole.body, "{} is its parts", segment.uri);
        }
    }

    for file in [
        "seg999.m4s",
        "part99999.m4s",
        "seg01.m4s",
        "init7.mp4",
        "index.m3u",
        "playlist.m3u8",
        "..",
        "seg0.mp4",
    ] {
        assert_error(&get(http, &format!("/live/files/{file}")).await, 404, file);
    }

    let open = report.open_msn();
    for query in [
        "_HLS_msn=abc".to_owned(),
        "_HLS_msn=-1".to_owned(),
        "_HLS_part=1".to_owned(),
        "_HLS_msn=1&_HLS_msn=2".to_owned(),
        "_HLS_msn=1&_HLS_part=".to_owned(),
        format!("_HLS_msn={}", open + 2),
        format!("_HLS_msn={open}&_HLS_part=40"),
    ] {
        let asked = Instant::now();
        let reply = get(http, &format!("/live/files/index.m3u8?{query}")).await;
        assert_error(&reply, 400, &query);
        assert!(asked.elapsed() < Duration::from_secs(2), "{query}: at once");
    }
    // Unknown parameters are not directives.
    let reply = get(http, "/live/files/index.m3u8?player=abc").await;
    check_version(&reply, None);
    // A credential is checked even where none is needed: a malformed token
    // is refused rather than ignored.
    let reply = get(http, "/live/files/index.m3u8?token=abc").await;
    assert_eq!(reply.status, 401, "{}", reply.text());

    // Once the window slid on, the first files are gone; the init stays
    // while listed segments use it.
    publisher.push(late).await;
    let reply = get(http, "/live/files/index.m3u8").await;
    let later = check_version(&reply, Some(&report));
    assert!(later.media_sequence > 0, "{}", reply.text());
    for file in ["seg0.m4s", "part0.m4s"] {
        assert_error(&get(http, &format!("/live/files/{file}")).await, 404, file);
    }
    assert_eq!(get(http, "/live/files/init0.mp4").await.status, 200);

    let content = publisher.stream.content().clone();
    assert!(content.stats.bytes_out.load(Ordering::Relaxed) > 100_000);
    node.shutdown().await;
}

/// A blocking reload for the next part, and a request for the hinted part,
/// are held until the part exists, then answered with it; a reload for the
/// next segment waits for that segment. Once the stream ends, directives
/// are ignored and ENDLIST is served at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_reload_and_preload_hint_wait_for_the_part() {
    let node = start_node(Duration::from_secs(5)).await;
    let http = node.http_address;
    let (configs, frames) = looped_fixture(5);
    let mut publisher = DirectPublisher::start(&node.context, "live/block", configs).await;
    let (early, late) = frames.split_at(frames.len() / 2);
    publisher.push(early).await;

    let report = check_version(&get(http, "/live/block/index.m3u8").await, None);
    let (msn, index) = report.last_part().expect("parts");
    let hint = report.preload_hints[0].uri.clone();
    let open = report.open_msn();
    let reload = tokio::spawn(get(
        http,
        format!(
            "/live/block/index.m3u8?_HLS_msn={msn}&_HLS_part={}",
            index + 1
        ),
    ));
    let hinted = tokio::spawn(get(http, format!("/live/block/{hint}")));
    let next_segment = tokio::spawn(get(http, format!("/live/block/index.m3u8?_HLS_msn={open}")));
    // Nothing new is published meanwhile: all three must still be held.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!reload.is_finished() && !hinted.is_finished() && !next_segment.is_finished());

    // One frame at a time until the hinted part exists.
    let hint_number: u64 = hint[4..hint.len() - 4].parse().unwrap();
    let mut rest = late.iter();
    while publisher
        .stream
        .snapshot()
        .is_none_or(|s| s.timeline().next_part_number() <= hint_number)
    {
        publisher
            .push(std::slice::from_ref(rest.next().expect("frames left")))
            .await;
    }
    let reply = reload.await.unwrap();
    let next = check_version(&reply, Some(&report));
    assert!(
        next.last_part() >= Some((msn, index + 1)),
        "{}",
        reply.text()
    );
    assert!(next.parts().any(|p| p.uri == hint));
    assert_eq!(reply.header("cache-control"), Some("public, max-age=2"));

    let part = hinted.await.unwrap();
    assert_eq!(part.status, 200);
    assert_eq!(part.header("content-type"), Some("video/mp4"));
    assert_eq!(
        part.body,
        get(http, &format!("/live/block/{hint}")).await.body
    );

    let rest: Vec<_> = rest.cloned().collect();
    publisher.push(&rest).await;
    let reply = next_segment.await.unwrap();
    let segment = check_version(&reply, Some(&next));
    assert!(segment.last_msn() >= Some(open), "{}", reply.text());

    publisher.finish();
    let stream = node.context.hls.get("live/block").unwrap();
    wait_until("the playlist to end", || {
        stream.snapshot().is_some_and(|s| s.timeline().is_ended())
    })
    .await;
    let far = segment.open_msn() + 50;
    let reply = get(http, &format!("/live/block/index.m3u8?_HLS_msn={far}")).await;
    let ended = check_version(&reply, Some(&segment));
    assert!(ended.ended && ended.preload_hints.is_empty());
    node.shutdown().await;
}

/// With nothing published, a blocking reload and the hinted part give up
/// after three target durations (6 s) with 503; a part past the hint is
/// 404 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_requests_time_out_with_503() {
    let node = start_node(Duration::from_secs(30)).await;
    let http = node.http_address;
    let (configs, frames) = looped_fixture(3);
    let mut publisher = DirectPublisher::start(&node.context, "live/stall", configs).await;
    publisher.push(&frames).await;
    let report = check_version(&get(http, "/live/stall/index.m3u8").await, None);
    let (msn, index) = report.last_part().expect("parts");
    let hint = report.preload_hints[0].uri.clone();
    let hint_number: u64 = hint[4..hint.len() - 4].parse().unwrap();

    let beyond = get(http, &format!("/live/stall/part{}.m4s", hint_number + 1)).await;
    assert_error(&beyond, 404, "a part past the hint");

    let asked = Instant::now();
    let (reload, part) = tokio::join!(
        get(
            http,
            format!(
                "/live/stall/index.m3u8?_HLS_msn={msn}&_HLS_part={}",
                index + 1
            )
        ),
        get(http, format!("/live/stall/{hint}")),
    );
    let waited = asked.elapsed();
    assert_error(&reload, 503, "blocking reload");
    assert_error(&part, 503, "hinted part");
    assert!(
        waited >= Duration::from_millis(5900) && waited < Duration::from_secs(10),
        "held {waited:?}, not three target durations"
    );
    drop(publisher);
    node.shutdown().await;
}

/// A node whose HLS settings the test chooses (Node::start takes the
/// defaults): its context, and the token that stops it.
async fn custom_node(
    settings: HlsSettings,
) -> (
    Arc<NodeContext>,
    std::net::SocketAddr,
    CancellationToken,
    Vec<tokio::task::JoinHandle<()>>,
) {
    init_tracing();
    // The node's own constructor, so new context fields need no change
    // here; only the HLS settings are the test's.
    let mut context = NodeContext::new(ContentLimits::default(), Duration::from_secs(5), 1);
    Arc::get_mut(&mut context).expect("not shared yet").hls = HlsStreams::new(settings);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    let tasks = vec![
        tokio::spawn(avrs_node::http::serve(
            listener,
            context.clone(),
            token.clone(),
        )),
        tokio::spawn(avrs_node::hls::run(context.clone(), token.clone())),
    ];
    (context, address, token, tasks)
}

/// An ended stream keeps serving ENDLIST for the linger time, then is
/// gone; a new publisher of the name during that time gets a new stream
/// that the old one's removal leaves alone. On shutdown, held requests are
/// answered at once and every stream is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_streams_linger_and_shutdown_releases_requests() {
    let settings = HlsSettings {
        linger: Duration::from_millis(800),
        ..HlsSettings::default()
    };
    let (context, http, token, tasks) = custom_node(settings).await;
    let (configs, frames) = looped_fixture(3);

    // Ended: ENDLIST during the linger, then 404.
    let mut first = DirectPublisher::start(&context, "live/gone", configs.clone()).await;
    first.push(&frames).await;
    first.finish();
    let mut ended_stream = None;
    wait_until("the stream to end", || {
        ended_stream = context
            .hls
            .get("live/gone")
            .filter(|s| s.snapshot().is_some_and(|s| s.timeline().is_ended()));
        ended_stream.is_some()
    })
    .await;
    let reply = get(http, "/live/gone/index.m3u8").await;
    assert!(check_version(&reply, None).ended);
    wait_until("the ended stream to go", || {
        context.hls.get("live/gone").is_none()
    })
    .await;
    assert_eq!(get(http, "/live/gone/index.m3u8").await.status, 404);

    // A new publisher during the linger replaces the ended stream.
    let publish = |name: &str| {
        let publisher = context
            .registry
            .publish(name, std::time::Instant::now())
            .unwrap();
        publisher.set_configs(configs.clone());
        publisher
    };
    let old = publish("live/again");
    old.push(frames[0].clone(), std::time::Instant::now())
        .unwrap();
    old.finish();
    wait_until("the old stream to end", || {
        context
            .hls
            .get("live/again")
            .is_some_and(|s| s.content().is_ended())
    })
    .await;
    let new = publish("live/again");
    let mut replaced = None;
    wait_until("the new stream", || {
        replaced = context
            .hls
            .get("live/again")
            .filter(|s| !s.content().is_ended());
        replaced.is_some()
    })
    .await;
    let replaced = replaced.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await; // past the old linger
    let current = context.hls.get("live/again").expect("new stream kept");
    assert!(Arc::ptr_eq(&current, &replaced));

    // Shutdown answers a held first-playlist request at once.
    let held = tokio::spawn(get(http, "/live/again/index.m3u8".to_owned()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!held.is_finished(), "held until the first segment");
    let stopped = Instant::now();
    token.cancel();
    let reply = held.await.unwrap();
    assert_eq!(reply.status, 404, "{}", reply.text());
    for task in tasks {
        tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap();
    }
    assert!(stopped.elapsed() < Duration::from_secs(2));
    assert!(context.hls.names().is_empty());
    drop(new);
}
