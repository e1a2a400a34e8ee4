//! Session resume: a native session whose connection is lost is kept for
//! `reconnect_timeout`; the same key takes it back on a new connection with
//! its slot and statistics, and playback goes on with no frame played twice
//! and none missing. A connection still up is made to hand the session
//! over. Another key cannot take it; a session that ended cleanly, or one
//! asked for after the timeout, is not kept.

use avrs_core::live::Publisher;
use avrs_crypto::{Algorithm, SigningKey};
use avrs_media::MediaFrame;
use avrs_node::native::client::{ClientOptions, Reconnected, Session, Watch};
use avrs_node::native::sessions::{SessionState, SessionView};
use avrs_node::{Node, NodeOptions};
use std::time::{Duration, Instant};

mod native_support;
use native_support::fixture;

const STREAM: &str = "live/resume";
/// A client close code that is not NO_ERROR: the network "went away".
const GONE: u32 = 0x99;

struct Setup {
    node: Node,
    publisher: Option<Publisher>,
    frames: Vec<MediaFrame>,
    pushed: usize,
}

impl Setup {
    async fn start(reconnect_timeout: Duration) -> Self {
        let options = NodeOptions {
            reconnect_timeout,
            ..NodeOptions::loopback_ephemeral()
        };
        let node = Node::start(options).await.unwrap();
        let (configs, frames) = fixture(4);
        let publisher = node
            .context
            .registry
            .publish(STREAM, Instant::now())
            .unwrap();
        publisher.set_configs(configs);
        Self {
            node,
            publisher: Some(publisher),
            frames,
            pushed: 0,
        }
    }

    /// A session with `key` watching the stream.
    async fn watch(&self, key: &SigningKey) -> Watch {
        Session::connect(self.node.quic_address, options(key))
            .await
            .unwrap()
            .watch(STREAM)
            .await
            .unwrap()
    }

    /// Publishes the next `count` frames.
    async fn push(&mut self, count: usize) {
        let end = self.pushed.saturating_add(count).min(self.frames.len());
        let publisher = self.publisher.as_ref().expect("not finished");
        for frame in &self.frames[self.pushed..end] {
            publisher.push(frame.clone(), Instant::now()).unwrap();
            tokio::task::yield_now().await;
        }
        self.pushed = end;
    }

    /// Publishes the next `count` frames one at a time, each once the
    /// viewer has played the one before (a burst would make it lag and
    /// skip groups, as live viewers do); returns the positions played.
    async fn push_played(&mut self, watch: &mut Watch, count: usize) -> Vec<u64> {
        let mut played = Vec::new();
        for _ in 0..count.min(self.frames.len() - self.pushed) {
            self.push(1).await;
            played.extend(play_through(watch, self.pushed as u64 - 1).await);
        }
        played
    }

    fn finish(&mut self) {
        self.publisher.take().expect("finished once").finish();
    }

    fn sessions(&self) -> Vec<SessionView> {
        self.node.context.native_sessions.list()
    }

    /// Waits until the node lists a session in `state`.
    async fn until_listed(&self, state: SessionState) -> SessionView {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(view) = self.sessions().into_iter().find(|s| s.state == state) {
                return view;
            }
            assert!(
                Instant::now() < deadline,
                "no {state:?} session: {:?}",
                self.sessions()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn options(key: &SigningKey) -> ClientOptions {
    ClientOptions {
        key: Some(key.duplicate().unwrap()),
        ..ClientOptions::default()
    }
}

/// Plays frames until one at position `seq` or later has been played;
/// returns the positions played.
async fn play_through(watch: &mut Watch, seq: u64) -> Vec<u64> {
    let mut played = Vec::new();
    let read = async {
        loop {
            let frame = watch.next_frame().await.unwrap().expect("not ended yet");
            played.push(frame.seq);
            if frame.seq >= seq {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("frames arrive");
    played
}

/// Plays to the end of the content.
async fn play_to_end(watch: &mut Watch) -> Vec<u64> {
    let mut played = Vec::new();
    let read = async {
        while let Some(frame) = watch.next_frame().await.unwrap() {
            played.push(frame.seq);
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("the content ends");
    played
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_resumes_its_slot_and_statistics() {
    let mut setup = Setup::start(Duration::from_secs(60)).await;
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let mut watch = setup.watch(&key).await;
    let slot = watch.content_id();
    let before = setup.push_played(&mut watch, 60).await;
    assert_eq!(before, (0..60).collect::<Vec<u64>>());
    let open = setup.until_listed(SessionState::Open).await;

    // The network goes away (the client's close carries an error code).
    watch.connection().close(GONE.into(), b"network gone");
    assert!(watch.next_frame().await.is_err());
    let parked = setup.until_listed(SessionState::Parked).await;
    assert!(parked.resumable_for.is_some_and(|left| left <= 60));
    assert_eq!(parked.session_id, open.session_id);
    assert_eq!(parked.contents, [STREAM]);

    // Published while the viewer is away: the newest group is what a
    // resumed live slot starts with.
    setup.push(20).await;
    let how = watch
        .reconnect(setup.node.quic_address, options(&key))
        .await
        .unwrap();
    assert_eq!(how, Reconnected::Resumed);
    assert_eq!(watch.content_id(), slot, "the same slot goes on");
    let mut after = setup.push_played(&mut watch, usize::MAX).await;
    setup.finish();
    after.extend(play_to_end(&mut watch).await);
    let total = setup.frames.len() as u64;
    assert!(after[0] > 59, "nothing played twice: {after:?}");
    assert!(after.windows(2).all(|w| w[0] < w[1]), "in order: {after:?}");
    assert_eq!(after.last(), Some(&(total - 1)), "played to the end");
    // Every frame published after the resume was played.
    assert!(after.ends_with(&(80..total).collect::<Vec<u64>>()));

    let sessions = setup.sessions();
    assert_eq!(sessions.len(), 1, "one session, not two: {sessions:?}");
    let resumed = &sessions[0];
    assert_eq!(resumed.session_id, open.session_id);
    assert_eq!(resumed.resumes, 1);
    assert!(
        resumed.frames_out >= 60 + (total - 80),
        "figures carried over: {resumed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_still_up_hands_its_session_over() {
    let mut setup = Setup::start(Duration::from_secs(60)).await;
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let mut first = setup.watch(&key).await;
    setup.push_played(&mut first, 30).await;

    // The client moved (a new address): the server still holds the old
    // connection when the new one asks for the session.
    let mut second = Session::connect(
        setup.node.quic_address,
        ClientOptions {
            resume: true,
            ..options(&key)
        },
    )
    .await
    .unwrap();
    second.opened().await.unwrap();
    assert_eq!(second.resumed.as_deref(), Some(&[first.content_id()][..]));
    let old = first.connection().clone();
    let reason = tokio::time::timeout(Duration::from_secs(5), old.closed())
        .await
        .expect("the old connection is closed");
    match reason {
        quinn::ConnectionError::ApplicationClosed(close) => {
            assert_eq!(
                close.error_code,
                avrs_proto::avrs::quic::CloseCode::SessionMoved
                    .code()
                    .into()
            );
        }
        other => panic!("closed for another reason: {other}"),
    }
    assert!(
        !first.lost(),
        "a moved session is not reconnected by the old watch"
    );
    let sessions = setup.sessions();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0].resumes, 1);
    assert_eq!(sessions[0].contents, [STREAM]);
    setup.push(10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_key_cannot_take_a_session() {
    let mut setup = Setup::start(Duration::from_secs(60)).await;
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let mut watch = setup.watch(&key).await;
    setup.push_played(&mut watch, 30).await;
    watch.connection().close(GONE.into(), b"network gone");
    setup.until_listed(SessionState::Parked).await;

    let thief = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let mut other = Session::connect(
        setup.node.quic_address,
        ClientOptions {
            resume: true,
            ..options(&thief)
        },
    )
    .await
    .unwrap();
    other.opened().await.unwrap();
    assert_eq!(other.resumed, None, "a new session, not someone else's");
    // The parked session is still there for its key.
    assert!(
        setup
            .sessions()
            .iter()
            .any(|s| s.state == SessionState::Parked)
    );
    let how = watch
        .reconnect(setup.node.quic_address, options(&key))
        .await
        .unwrap();
    assert_eq!(how, Reconnected::Resumed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_session_or_a_zero_timeout_keeps_nothing() {
    // Closed with NO_ERROR (the player is done): not kept.
    let mut setup = Setup::start(Duration::from_secs(60)).await;
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let mut watch = setup.watch(&key).await;
    setup.push_played(&mut watch, 30).await;
    watch.close().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !setup.sessions().is_empty() {
        assert!(Instant::now() < deadline, "{:?}", setup.sessions());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // reconnect_timeout 0: a lost session is not kept either; the watch
    // still goes on, as a new session.
    let mut setup = Setup::start(Duration::ZERO).await;
    let mut watch = setup.watch(&key).await;
    setup.push_played(&mut watch, 30).await;
    watch.connection().close(GONE.into(), b"network gone");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !setup.sessions().is_empty() {
        assert!(Instant::now() < deadline, "{:?}", setup.sessions());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let how = watch
        .reconnect(setup.node.quic_address, options(&key))
        .await
        .unwrap();
    assert_eq!(how, Reconnected::NewSession);
    let mut after = setup.push_played(&mut watch, usize::MAX).await;
    setup.finish();
    after.extend(play_to_end(&mut watch).await);
    assert!(after[0] > 29, "nothing played twice: {after:?}");
    assert_eq!(after.last(), Some(&(setup.frames.len() as u64 - 1)));
}
