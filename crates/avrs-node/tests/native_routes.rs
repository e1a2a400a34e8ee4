//! ROUTE_FIND / ROUTE_CHECK on a native session of a node outside any
//! cluster: it names itself for a content published to it, says
//! CONTENT_NOT_FOUND for one that is not, and calls itself the origin of
//! what it publishes (feeding nobody).

use avrs_crypto::{Algorithm, SigningKey};
use avrs_node::cluster::content_key;
use avrs_node::native::client;
use avrs_node::native::wire::{ControlWriter, Message, ReadError, spawn_control_reader};
use avrs_node::{Node, NodeOptions};
use avrs_proto::Hash32;
use avrs_proto::avrs::cluster::{
    ClusterType, RouteCheck, RouteCheckResponse, RouteFind, RouteFindResponse, RouteState,
    RouteUpstream,
};
use avrs_proto::avrs::{ControlPacket, Request, RetCode, RetCodePacket, SubType};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Receiver;

async fn next(replies: &mut Receiver<Result<Message, ReadError>>) -> Message {
    tokio::time::timeout(Duration::from_secs(5), replies.recv())
        .await
        .expect("a reply in time")
        .expect("a reply before the end")
        .expect("a readable reply")
}

fn typed<R: Request<Kind = ClusterType>>(message: &Message) -> R {
    assert_eq!(message.subtype, SubType::Cluster, "a typed cluster answer");
    R::from_packet(&ControlPacket::decode(&message.data).unwrap()).unwrap()
}

fn code(message: &Message) -> RetCodePacket {
    assert_eq!(message.subtype, SubType::RetCode);
    RetCodePacket::decode(&message.data).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_node_answers_route_questions_for_itself() {
    let node = Node::start(NodeOptions::loopback_ephemeral())
        .await
        .unwrap();
    let _publisher = node
        .context
        .registry
        .publish("live/r", Instant::now())
        .unwrap();
    let me = node.context.content_key.id();

    let (_endpoint, conn) = client::dial(node.quic_address, &client::ClientOptions::default())
        .await
        .unwrap();
    let (send, recv) = conn.open_bi().await.unwrap();
    let (mut control, mut replies) = (ControlWriter::new(send), spawn_control_reader(recv));
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let open = client::open_request(&key, client::binding(&conn).unwrap(), None).unwrap();
    control.write(SubType::Session, &open).await.unwrap();
    assert_eq!(code(&next(&mut replies).await).code, RetCode::Success);

    let find = |name: &str| RouteFind {
        id: None,
        content_id: content_key(name),
        limit: None,
        exclude: vec![],
    };
    let packet = find("live/r").to_packet().unwrap().finish();
    control.write(SubType::Cluster, &packet).await.unwrap();
    let found: RouteFindResponse = typed(&next(&mut replies).await);
    assert_eq!(found.content_id, content_key("live/r"));
    assert_eq!(found.candidates.len(), 1);
    assert_eq!(
        (found.candidates[0].member, found.candidates[0].depth),
        (me, 1)
    );

    let packet = find("live/none").to_packet().unwrap().finish();
    control.write(SubType::Cluster, &packet).await.unwrap();
    let missing = code(&next(&mut replies).await);
    assert_eq!(
        (missing.code, missing.text.as_str()),
        (RetCode::ContentNotFound, "NO_HOLDER")
    );

    let check = RouteCheck {
        id: None,
        content_id: content_key("live/r"),
        member: Hash32([7; 32]),
    };
    let packet = check.to_packet().unwrap().finish();
    control.write(SubType::Cluster, &packet).await.unwrap();
    let checked: RouteCheckResponse = typed(&next(&mut replies).await);
    assert_eq!(checked.state, RouteState::NotOurChild);
    assert_eq!(checked.upstream, Some(RouteUpstream::Origin));
    assert_eq!(checked.member, Hash32([7; 32]));

    conn.close(0u32.into(), b"done");
    node.shutdown().await;
}
