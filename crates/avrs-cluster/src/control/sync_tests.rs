//! BOOK_SYNC: the host's snapshot and answers, the operator's checks of
//! each reply, and the replica's merge rule, refusals and file.

use super::super::{ASK_THE_HOST, Actor, ClusterBook, Handled, Reply};
use super::*;
use avrs_crypto::Algorithm;
use avrs_proto::Guuid;
use avrs_proto::avrs::cluster::{
    ClusterOptions, ContentAdd, ContentListRequest, Create, Info, ListRequest,
};
use avrs_proto::avrs::{ClusterRequest, FlowCodec, Flows, Roles};

const NONCE: [u8; 16] = [5; 16];
const OWNER: Hash32 = Hash32([1; 32]);
const HOST_CLUSTER: Guuid = Guuid::new(1, 1);
const OWN_CLUSTER: Guuid = Guuid::new(2, 2);

fn owner() -> Actor {
    Actor {
        id: OWNER,
        roles: Roles::HOST,
    }
}

fn ask(book: &mut ClusterBook, request: ClusterRequest) -> Handled {
    book.handle(&owner(), request, || Guuid::new(3, 3))
}

fn code(handled: &Handled) -> (RetCode, String) {
    match &handled.reply {
        Reply::Code(reply) => (reply.code, reply.text.clone()),
        Reply::Packet(packet) => (RetCode::Success, packet.kind().name().to_owned()),
    }
}

fn create(book: &mut ClusterBook, id: Guuid, title: &str) {
    let create = Create {
        id: Some(id),
        options: ClusterOptions {
            title: Some(title.into()),
            ..ClusterOptions::default()
        },
    };
    assert!(ask(book, ClusterRequest::Create(create)).changed);
    book.bump_revision();
}

fn content_add(cluster: Guuid, content: Guuid, title: &str) -> ClusterRequest {
    ClusterRequest::ContentAdd(ContentAdd {
        id: cluster,
        content_id: content,
        title: Some(title.into()),
        flows: Flows::new("va").unwrap(),
        codecs: vec![FlowCodec::new(0, "avc1.64001F")],
    })
}

/// A host's book with HOST_CLUSTER and `contents` contents in it.
fn host_book(contents: u64) -> ClusterBook {
    let mut book = ClusterBook::default();
    create(&mut book, HOST_CLUSTER, "Lecture");
    for n in 0..contents {
        let title = format!("content number {n} with a title long enough to take room");
        let add = content_add(HOST_CLUSTER, Guuid::new(9, n), &title);
        assert!(ask(&mut book, add).changed);
        book.bump_revision();
    }
    book
}

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::Ed25519).unwrap()
}

/// Runs a whole pull against `snapshot`, signed with `key`.
fn pull(snapshot: &Snapshot, key: &SigningKey, held: Option<BookStamp>) -> Result<Pulled> {
    let mut puller = Puller::new(key.id(), held, NONCE);
    let mut request = puller.first();
    for _ in 0..1000 {
        let reply = snapshot.signed_answer(&request, key).unwrap();
        match puller.on_reply(&reply)? {
            Pulled::Ask(next) => request = next,
            done => return Ok(done),
        }
    }
    panic!("the pull never ended");
}

#[test]
fn a_book_larger_than_a_chunk_arrives_whole_and_then_unchanged() {
    let host = host_book(600);
    let snapshot = Snapshot::of(&host);
    assert!(snapshot.json().len() > 2 * MAX_BOOK_CHUNK, "several chunks");
    assert_eq!(snapshot.stamp.revision, 601);
    assert_eq!(snapshot.stamp.digest, sha3_256(snapshot.json()));
    let key = key();
    let Pulled::Book(stamp, book) = pull(&snapshot, &key, None).unwrap() else {
        panic!("the book");
    };
    assert_eq!(stamp, snapshot.stamp);
    assert_eq!(*book, host);
    // Held already: one small reply says so.
    let request = BookSync {
        nonce: NONCE,
        have: Some(stamp),
        offset: 0,
    };
    let reply = snapshot.answer(&request).unwrap();
    assert_eq!(reply.chunk, None);
    assert!(matches!(
        pull(&snapshot, &key, Some(stamp)),
        Ok(Pulled::Unchanged)
    ));
}

#[test]
fn a_reply_signed_by_another_than_the_host_is_refused() {
    let snapshot = Snapshot::of(&host_book(1));
    let (host, impostor) = (key(), key());
    let mut puller = Puller::new(host.id(), None, NONCE);
    let forged = snapshot.signed_answer(&puller.first(), &impostor).unwrap();
    assert_eq!(
        puller.on_reply(&forged).unwrap_err(),
        ClusterError::NotTheHost {
            signer: impostor.id(),
            host: host.id()
        }
    );
    // Tampered after signing, or not signed at all.
    let mut tampered = snapshot.signed_answer(&puller.first(), &host).unwrap();
    tampered[40] ^= 1;
    assert_eq!(
        puller.on_reply(&tampered).unwrap_err(),
        ClusterError::BadSignature(host.id())
    );
    let unsigned = snapshot.answer(&puller.first()).unwrap();
    let unsigned = unsigned.to_packet().unwrap().finish();
    assert_eq!(
        puller.on_reply(&unsigned).unwrap_err(),
        ClusterError::BadSignature(host.id())
    );
    assert!(puller.on_reply(b"\x51\0\0\0").is_err());
}

#[test]
fn replies_to_another_request_or_out_of_order_are_refused() {
    let snapshot = Snapshot::of(&host_book(600));
    let key = key();
    let mut puller = Puller::new(key.id(), None, NONCE);
    let other = BookSync {
        nonce: [6; 16],
        ..puller.first()
    };
    let replayed = snapshot.signed_answer(&other, &key).unwrap();
    assert_eq!(
        puller.on_reply(&replayed).unwrap_err(),
        ClusterError::BookSync("a reply to another request")
    );
    let first = snapshot.signed_answer(&puller.first(), &key).unwrap();
    assert!(matches!(puller.on_reply(&first), Ok(Pulled::Ask(_))));
    let skipped = BookSync {
        offset: 2 * MAX_BOOK_CHUNK as u32,
        ..puller.first()
    };
    let skipped = snapshot.signed_answer(&skipped, &key).unwrap();
    assert_eq!(
        puller.on_reply(&skipped).unwrap_err(),
        ClusterError::BookSync("a chunk out of order")
    );
    // "Unchanged" for a book the puller does not hold.
    let mut puller = Puller::new(key.id(), None, NONCE);
    let unchanged = BookSync {
        have: Some(snapshot.stamp),
        ..puller.first()
    };
    let unchanged = snapshot.signed_answer(&unchanged, &key).unwrap();
    assert!(puller.on_reply(&unchanged).is_err());
}

#[test]
fn a_book_changed_under_the_transfer_is_fetched_again() {
    let key = key();
    let mut host = host_book(600);
    let before = Snapshot::of(&host);
    let mut puller = Puller::new(key.id(), None, NONCE);
    let first = before.signed_answer(&puller.first(), &key).unwrap();
    let Ok(Pulled::Ask(next)) = puller.on_reply(&first) else {
        panic!("the next chunk");
    };
    assert_eq!(next.offset as usize, MAX_BOOK_CHUNK);
    create(&mut host, Guuid::new(4, 4), "New");
    let after = Snapshot::of(&host);
    let moved = after.signed_answer(&next, &key).unwrap();
    let Ok(Pulled::Ask(again)) = puller.on_reply(&moved) else {
        panic!("from the start");
    };
    assert_eq!(again.offset, 0);
    let mut request = again;
    let book = loop {
        match puller.on_reply(&after.signed_answer(&request, &key).unwrap()) {
            Ok(Pulled::Ask(next)) => request = next,
            Ok(Pulled::Book(stamp, book)) => break (stamp, book),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(book.0, after.stamp);
    assert_eq!(*book.1, host);
}

#[test]
fn a_host_that_lies_about_its_digest_is_refused() {
    let key = key();
    let snapshot = Snapshot::of(&host_book(1));
    let mut puller = Puller::new(key.id(), None, NONCE);
    let mut reply = snapshot.answer(&puller.first()).unwrap();
    reply.stamp.digest = Hash32([9; 32]);
    let unsigned = reply.to_packet().unwrap().finish();
    let signed = sign_packet(&unsigned, CLUSTER_SIGN_CODE, &key).unwrap();
    assert_eq!(
        puller.on_reply(&signed).unwrap_err(),
        ClusterError::BookSync("the book does not match its digest")
    );
}

#[test]
fn an_offset_past_the_end_is_refused() {
    let snapshot = Snapshot::of(&host_book(1));
    let request = BookSync {
        nonce: NONCE,
        have: None,
        offset: snapshot.json().len() as u32,
    };
    let refused = snapshot.answer(&request).unwrap_err();
    assert_eq!(
        (refused.code, refused.text.as_str()),
        (RetCode::ArgIncorrect, BAD_OFFSET)
    );
}

/// An operator's book with OWN_CLUSTER (its own) and, when given, a
/// cluster that collides with the host's.
fn operator_book(collide: bool) -> ClusterBook {
    let mut book = ClusterBook::default();
    create(&mut book, OWN_CLUSTER, "Mine");
    if collide {
        create(&mut book, HOST_CLUSTER, "Stale");
    }
    book
}

fn stamp_of(book: &ClusterBook) -> BookStamp {
    Snapshot::of(book).stamp
}

#[test]
fn the_replica_replaces_the_hosts_clusters_and_keeps_the_operators() {
    let mut operator = operator_book(true);
    let host = host_book(2);
    assert!(
        operator
            .apply_replica(stamp_of(&host), host.clone())
            .unwrap()
    );
    assert_eq!(operator.get(&HOST_CLUSTER), host.get(&HOST_CLUSTER));
    assert_eq!(
        operator.get(&OWN_CLUSTER).unwrap().options.title.as_deref(),
        Some("Mine")
    );
    assert!(operator.is_replicated(&HOST_CLUSTER));
    assert!(!operator.is_replicated(&OWN_CLUSTER));

    // The same book again: nothing to do, nothing to save.
    let before = operator.clone();
    assert!(
        !operator
            .apply_replica(stamp_of(&host), host.clone())
            .unwrap()
    );
    assert_eq!(operator, before);

    // The host destroys its cluster and makes another: the replica follows.
    let mut host = ClusterBook::default();
    create(&mut host, Guuid::new(5, 5), "Next");
    assert!(operator.apply_replica(stamp_of(&host), host).unwrap());
    assert!(operator.get(&HOST_CLUSTER).is_none());
    assert!(operator.get(&Guuid::new(5, 5)).is_some());
    assert!(operator.get(&OWN_CLUSTER).is_some());
    let mark = operator.replica().unwrap();
    assert_eq!(
        mark.clusters.iter().copied().collect::<Vec<_>>(),
        [Guuid::new(5, 5)]
    );
}

#[test]
fn a_replica_that_breaks_the_bounds_changes_nothing() {
    let mut operator = ClusterBook::default();
    for n in 0..super::super::MAX_CLUSTERS as u64 {
        create(&mut operator, Guuid::new(100, n + 1), "own");
    }
    let host = host_book(0);
    let before = operator.clone();
    let err = operator.apply_replica(stamp_of(&host), host).unwrap_err();
    assert!(matches!(err, ClusterError::BookSync(_)), "{err}");
    assert_eq!(operator, before);
}

#[test]
fn changes_to_the_hosts_clusters_are_refused_and_reads_answer() {
    let mut operator = operator_book(false);
    let host = host_book(1);
    operator.apply_replica(stamp_of(&host), host).unwrap();
    let before = operator.clone();
    let ask_the_host = (RetCode::ClusterWrongRequest, ASK_THE_HOST.to_owned());
    let add = content_add(HOST_CLUSTER, Guuid::new(8, 8), "x");
    assert_eq!(code(&ask(&mut operator, add)), ask_the_host);
    let again = ClusterRequest::Create(Create {
        id: Some(HOST_CLUSTER),
        options: ClusterOptions::default(),
    });
    assert_eq!(code(&ask(&mut operator, again)), ask_the_host);
    assert_eq!(operator, before, "a refusal changes nothing");

    let info = ClusterRequest::Info(Info {
        id: HOST_CLUSTER,
        options: ClusterOptions::default(),
    });
    let answered = ask(&mut operator, info);
    assert_eq!(code(&answered), (RetCode::Success, "INFO".into()));
    let list = ask(&mut operator, ClusterRequest::ListRequest(ListRequest));
    let Reply::Packet(list) = list.reply else {
        panic!("a list");
    };
    let ClusterRequest::ListResponse(list) = *list else {
        panic!("a list");
    };
    assert_eq!(list.ids, [HOST_CLUSTER, OWN_CLUSTER]);
    let contents = ClusterRequest::ContentListRequest(ContentListRequest { id: HOST_CLUSTER });
    let contents = code(&ask(&mut operator, contents));
    assert_eq!(contents, (RetCode::Success, "CONTENT_LIST_RESPONSE".into()));

    // The operator's own cluster changes as before.
    let own = content_add(OWN_CLUSTER, Guuid::new(8, 8), "x");
    assert_eq!(code(&ask(&mut operator, own)).0, RetCode::Success);
}

#[test]
fn the_replica_survives_the_file_and_keeps_its_deployment_mark() {
    let mut operator = operator_book(false);
    let mut host = host_book(1);
    host.ensure_pinned(Guuid::new(6, 6), OWNER, "e2e");
    operator.apply_replica(stamp_of(&host), host).unwrap();
    operator.bump_revision();
    let mut read = ClusterBook::from_json(&operator.to_json()).unwrap();
    assert_eq!(read, operator);
    assert!(read.get(&Guuid::new(6, 6)).unwrap().pinned);
    // An operator restarting unpins its own clusters only.
    assert!(!read.unpin_own());
    assert!(read.get(&Guuid::new(6, 6)).unwrap().pinned);
    // The host forgets what it replicated: those clusters are its own.
    assert!(read.forget_replica());
    assert!(!read.is_replicated(&HOST_CLUSTER));

    let text = String::from_utf8(operator.to_json()).unwrap();
    let own = OWN_CLUSTER.to_string();
    let host_only = HOST_CLUSTER.to_string();
    let foreign = text.replacen(
        &format!("\"clusters\": [\n      \"{host_only}\""),
        &format!("\"clusters\": [\n      \"{}\"", Guuid::new(4, 4)),
        1,
    );
    assert_ne!(foreign, text, "{text}");
    assert!(ClusterBook::from_json(foreign.as_bytes()).is_err());
    assert!(text.contains(&own));
}

#[test]
fn book_sync_packets_never_reach_the_book() {
    let mut book = host_book(0);
    let request = BookSync {
        nonce: NONCE,
        have: None,
        offset: 0,
    };
    let reply = Snapshot::of(&book).answer(&request).unwrap();
    let wrong = RetCode::ClusterWrongRequest;
    let sync = ask(&mut book, ClusterRequest::BookSync(request));
    assert_eq!(code(&sync), (wrong, "NOT_SUPPORTED".into()));
    let response = ask(&mut book, ClusterRequest::BookSyncResponse(reply));
    assert_eq!(code(&response), (wrong, "NOT_A_REQUEST".into()));
}
