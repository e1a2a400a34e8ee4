//! ENCRYPTED contents end to end: a node whose `[auth] encrypt` names the
//! stream seals every frame; a native viewer (authorised to play) gets the
//! key on its control stream, checks each frame's signature over the sealed
//! bytes, opens it and plays exactly what was published.

use avrs_node::native::client::{ClientOptions, Session};
use avrs_node::{Node, NodeOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod native_support;
use native_support::fixture;

fn sealing_authorizer(data_dir: &std::path::Path) -> Arc<avrs_auth::Authorizer> {
    let text = format!(
        "[avrs]\ndata_dir = {}\n[auth]\npublish = open\naudit_log = off\nencrypt = live/secret\n",
        data_dir.display()
    );
    let config = avrs_config::Config::from_str_named(&text, "avrs.ini").unwrap();
    let auth = avrs_auth::AuthConfig::from_config(&config, true).unwrap();
    Arc::new(avrs_auth::Authorizer::load(&auth, None).unwrap())
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
