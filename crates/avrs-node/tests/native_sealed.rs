//! ENCRYPTED contents end to end: a node whose `[auth] encrypt` names the
//! stream seals every frame; a native viewer (authorised to play) gets the
//! key on its control stream, checks each frame's signature over the sealed
//! bytes, opens it and plays exactly what was published. When one of two
//! viewers is revoked, the content moves to a new key that only the other
//! one gets, and it plays on.

use avrs_node::native::client::{ClientOptions, Session};
use avrs_node::{Node, NodeOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod native_support;
use native_support::fixture;

/// An authorizer from an avrs.ini whose `[auth]` seals `live/secret`, with
/// `extra` lines added to `[auth]`.
fn authorizer(data_dir: &std::path::Path, extra: &str) -> Arc<avrs_auth::Authorizer> {
    let text = format!(
        "[avrs]\ndata_dir = {}\nheartbeat_interval = 200ms\n[auth]\npublish = open\n\
         audit_log = off\nencrypt = live/secret\n{extra}",
        data_dir.display()
    );
    let config = avrs_config::Config::from_str_named(&text, "avrs.ini").unwrap();
    let auth = avrs_auth::AuthConfig::from_config(&config, true).unwrap();
    Arc::new(avrs_auth::Authorizer::load(&auth, None).unwrap())
}

fn sealing_authorizer(data_dir: &std::path::Path) -> Arc<avrs_auth::Authorizer> {
    authorizer(data_dir, "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_content_plays_for_an_authorised_viewer() {
    let dir = tempfile::tempdir().unwrap();
    let options = NodeOptions {
        authorizer: Some(sealing_authorizer(dir.path())),
        ..NodeOptions::loopback_ephemeral()
    };
    let node = Node::start(options).await.unwrap();
    let (configs, frames) = fixture(2);
    let publisher = node
        .context
        .registry
        .publish("live/secret", Instant::now())
        .unwrap();
    publisher.set_configs(configs);
    // The viewer joins before the first frame, so it gets every one.
    let session = Session::connect(node.quic_address, ClientOptions::default())
        .await
        .unwrap();
    let mut watch = session.watch("live/secret").await.unwrap();
    let push = tokio::spawn(async move {
        for frame in frames {
            publisher.push(frame, Instant::now()).unwrap();
            tokio::task::yield_now().await;
        }
        publisher.finish();
    });
    let info = watch
        .info
        .clone()
        .expect("CONTENT_UPDATE on the control stream");
    assert!(info.key.is_some(), "an authorised session is given the key");
    let mut played = Vec::new();
    let collect = async {
        while let Some(frame) = watch.next_frame().await.unwrap() {
            played.push(frame);
        }
    };
    tokio::time::timeout(Duration::from_secs(20), collect)
        .await
        .expect("the stream plays to its end");
    push.await.unwrap();
    assert!(played.len() > 20, "frames played: {}", played.len());
    let (_, sent) = fixture(2);
    for frame in &played {
        assert_eq!(
            frame.media, sent[frame.seq as usize],
            "frame {} opened to what was sent",
            frame.seq
        );
    }
    let checks = watch.check_stats();
    assert_eq!(checks.verified, played.len() as u64);
    assert_eq!(checks.corrupted, 0);
    watch.close().await;
    node.shutdown().await;
}

/// `play = token`, HS256 tokens, `live/secret` ENCRYPTED.
fn token_authorizer(dir: &std::path::Path) -> Arc<avrs_auth::Authorizer> {
    use std::os::unix::fs::PermissionsExt;
    let secret = dir.join("hs256.secret");
    std::fs::write(&secret, "a shared secret of at least thirty-two bytes").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let extra = format!(
        "play = token\ntoken_hs256_secret_file = {}\n",
        secret.display()
    );
    authorizer(dir, &extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_viewer_rotates_the_key_and_the_others_play_on() {
    let dir = tempfile::tempdir().unwrap();
    let authorizer = token_authorizer(dir.path());
    let now = avrs_auth::unix_now();
    let issue = |subject: &str| {
        let role = avrs_auth::TokenRole::Viewer;
        authorizer
            .issue_token(role, "live/secret", subject, 600, Default::default(), now)
            .unwrap()
    };
    let (token_a, claims_a) = issue("alice");
    let (token_b, _) = issue("bob");
    let options = NodeOptions {
        authorizer: Some(authorizer.clone()),
        ..NodeOptions::loopback_ephemeral()
    };
    let node = Node::start(options).await.unwrap();
    let (configs, frames) = fixture(30);
    let publisher = node
        .context
        .registry
        .publish("live/secret", Instant::now())
        .unwrap();
    publisher.set_configs(configs);
    let watch = |token: String| {
        let address = node.quic_address;
        async move {
            let options = ClientOptions {
                token: Some(token),
                ..ClientOptions::default()
            };
            let session = Session::connect(address, options).await.unwrap();
            session.watch("live/secret").await.unwrap()
        }
    };
    let mut alice = watch(token_a).await;
    let mut bob = watch(token_b).await;
    // A live source: frames at their own pace (30 s of them at most).
    let push = tokio::spawn(async move {
        let start = Instant::now();
        for frame in frames {
            let due = Duration::from_micros(u64::try_from(frame.dts).unwrap() * 100 / 9);
            tokio::time::sleep_until((start + due).into()).await;
            publisher.push(frame, Instant::now()).unwrap();
        }
        publisher.finish();
    });
    let (_, sent) = fixture(30);
    let mut bob_played = Vec::new();
    for _ in 0..10 {
        alice.next_frame().await.unwrap().unwrap();
        bob_played.push(bob.next_frame().await.unwrap().unwrap());
    }
    assert_eq!(
        bob.opened_per_epoch().keys().copied().collect::<Vec<_>>(),
        [1]
    );

    let revoked = avrs_auth::revocation::RevokedKind::Jti;
    assert!(authorizer.revoke(revoked, &claims_a.jti, "test").unwrap());
    // Alice is cut off (frames already on their way may still come).
    let cut = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match alice.next_frame().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("alice saw an end, not a cut-off"),
                Err(err) => break err,
            }
        }
    });
    let error = cut.await.expect("alice is cut off");
    assert!(
        error.to_string().contains("MEMBER_SECURITY_ISSUE"),
        "{error}"
    );

    // Bob is given the next key and plays on, every frame as published.
    let on = tokio::time::timeout(Duration::from_secs(20), async {
        while bob.opened_per_epoch().get(&2).copied().unwrap_or(0) < 30 {
            bob_played.push(bob.next_frame().await.unwrap().unwrap());
        }
    });
    on.await.expect("bob plays frames sealed with the new key");
    for frame in &bob_played {
        assert_eq!(frame.media, sent[frame.seq as usize], "frame {}", frame.seq);
    }
    assert!(
        bob_played.windows(2).all(|w| w[1].seq == w[0].seq + 1),
        "bob missed no frame across the rotation"
    );
    assert_eq!(bob.check_stats().corrupted, 0);
    push.abort();
    bob.close().await;
    node.shutdown().await;
}

/// Raw HTTP/1.0 GET: the status line and the body.
async fn http_get(address: std::net::SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let read = stream.read_to_end(&mut response);
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

/// HTTP-FLV and HLS deliver in clear: an ENCRYPTED content is refused
/// there (403, naming the native player), while a content in clear on the
/// same node plays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_in_clear_refuse_an_encrypted_content() {
    let dir = tempfile::tempdir().unwrap();
    let options = NodeOptions {
        authorizer: Some(sealing_authorizer(dir.path())),
        ..NodeOptions::loopback_ephemeral()
    };
    let node = Node::start(options).await.unwrap();
    let (configs, frames) = fixture(1);
    for name in ["live/secret", "live/open"] {
        let publisher = node.context.registry.publish(name, Instant::now()).unwrap();
        publisher.set_configs(configs.clone());
        for frame in &frames {
            publisher.push(frame.clone(), Instant::now()).unwrap();
        }
        std::mem::forget(publisher);
    }
    for path in ["/live/secret.flv", "/live/secret/index.m3u8"] {
        let (status, body) = http_get(node.http_address, path).await;
        assert!(status.contains(" 403 "), "{path}: {status}");
        assert!(
            body.contains("ENCRYPTED") && body.contains("avrs play"),
            "{path}: {body}"
        );
    }
    // HTTP-FLV of the content in clear answers 200 and streams (read
    // up to the end of its headers).
    let status = response_head(node.http_address, "/live/open.flv").await;
    assert!(
        status.contains(" 200 "),
        "a content in clear plays: {status}"
    );
}

/// The status line of a response whose body may never end.
async fn response_head(address: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let read = async {
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n") {
            stream.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("a status line");
    String::from_utf8_lossy(&head).into_owned()
}

/// A relay (CONTENT_ADD with RELAY) is never given an ENCRYPTED content's
/// key: it gets the frames sealed, checks their signatures and could only
/// forward them; no frame's bytes are the clear ones. A key-only request
/// (what a player behind a relay sends the origin) gets the key and no
/// frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_gets_sealed_frames_and_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let options = NodeOptions {
        authorizer: Some(sealing_authorizer(dir.path())),
        ..NodeOptions::loopback_ephemeral()
    };
    let node = Node::start(options).await.unwrap();
    let (configs, frames) = fixture(2);
    let publisher = node
        .context
        .registry
        .publish("live/secret", Instant::now())
        .unwrap();
    publisher.set_configs(configs);
    let relay = avrs_proto::avrs::quic::ContentRequest {
        relay: true,
        ..avrs_proto::avrs::quic::ContentRequest::watch("live/secret")
    };
    let relay_options = ClientOptions {
        open_sealed: false,
        ..ClientOptions::default()
    };
    let session = Session::connect(node.quic_address, relay_options)
        .await
        .unwrap();
    let mut watch = session.watch_request(relay).await.unwrap();
    let info = watch.info.clone().expect("CONTENT_UPDATE");
    assert!(info.key.is_none(), "a relay is given no key");
    let key_only = avrs_proto::avrs::quic::ContentRequest {
        key_only: true,
        ..avrs_proto::avrs::quic::ContentRequest::watch("live/secret")
    };
    let session = Session::connect(node.quic_address, ClientOptions::default())
        .await
        .unwrap();
    let keys = session.watch_request(key_only).await.unwrap();
    assert!(
        keys.info.as_ref().is_some_and(|i| i.key.is_some()),
        "the key"
    );
    let clear = frames.clone();
    let push = tokio::spawn(async move {
        for frame in frames {
            publisher.push(frame, Instant::now()).unwrap();
            tokio::task::yield_now().await;
        }
        publisher.finish();
    });
    let mut relayed = 0;
    let collect = async {
        while let Some(frame) = watch.next_frame().await.unwrap() {
            assert!(frame.sealed, "left sealed");
            let sent = &clear[frame.seq as usize].data;
            assert_ne!(&frame.media.data, sent, "never the clear bytes");
            assert!(
                !frame
                    .media
                    .data
                    .windows(sent.len().min(64))
                    .any(|w| w == &sent[..sent.len().min(64)]),
                "no clear run of the frame in what the relay got"
            );
            relayed += 1;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), collect)
        .await
        .expect("the stream reaches its end");
    push.await.unwrap();
    assert!(relayed > 20, "frames relayed: {relayed}");
    assert_eq!(watch.check_stats().corrupted, 0, "signatures checked");
    assert!(watch.check_stats().verified >= relayed);
    drop(keys);
}
