//! BOOK_SYNC on the keepers: the host's revisions and snapshots (the
//! roster counts as a change), and the operator's replica in its file.

use super::super::{Actor, Handled, deployment_id};
use super::*;
use crate::cluster::roster::{Approvals, JoinOutcome};
use crate::cluster::wire::JoinRequest;
use avrs_cluster::{MemberId, PeerAddr};
use avrs_crypto::{Algorithm, SigningKey};
use avrs_proto::Guuid;
use avrs_proto::avrs::ClusterRequest;
use avrs_proto::avrs::cluster::{ClusterOptions, Create, Info};

use super::super::tests::{HOST, host_keeper};

fn create(keeper: &Keeper, approvals: &Mutex<Approvals>, id: Guuid) -> Handled {
    let host = Actor {
        id: HOST,
        roles: Roles::HOST,
    };
    let create = ClusterRequest::Create(Create {
        id: Some(id),
        options: ClusterOptions::default(),
    });
    keeper.handle(approvals, host, create)
}

fn join(n: u8) -> JoinRequest {
    let key = SigningKey::from_seed(Algorithm::Ed25519, &[n; 32]).unwrap();
    JoinRequest {
        cluster: Hash32::default(),
        unix_secs: 0,
        roles: Roles::OPERATOR,
        member: MemberId {
            key: key.id(),
            addr: PeerAddr::default(),
            incarnation: 1,
        },
        key: key.public_key().clone(),
        certificate: None,
    }
}

#[test]
fn every_change_and_roster_change_is_a_new_revision() {
    let approvals = Mutex::new(Approvals::default());
    let keeper = host_keeper(None);
    let first = keeper.snapshot(&approvals);
    assert_eq!(keeper.snapshot(&approvals).stamp, first.stamp, "no change");
    create(&keeper, &approvals, Guuid::new(4, 4));
    let second = keeper.snapshot(&approvals);
    assert_eq!(second.stamp.revision, first.stamp.revision + 1);
    assert_ne!(second.stamp.digest, first.stamp.digest);
    // A join request is in the deployment's cluster at the next snapshot.
    let outcome = lock(&approvals).on_join(&join(2), None);
    assert!(matches!(outcome, JoinOutcome::Pending { .. }));
    let third = keeper.snapshot(&approvals);
    assert_eq!(third.stamp.revision, second.stamp.revision + 1);
    let host = ClusterBook::from_json(third.json()).unwrap();
    let deployment = host.get(&deployment_id("e2e")).unwrap();
    assert!(deployment.requests.contains_key(&join(2).member.key));
}

#[test]
fn the_operator_keeps_the_replica_in_its_file_and_rewrites_it_only_on_change() {
    let approvals = Mutex::new(Approvals::default());
    let host = host_keeper(None);
    create(&host, &approvals, Guuid::new(4, 4));
    let snapshot = host.snapshot(&approvals);
    let book = || ClusterBook::from_json(snapshot.json()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster-book.json");
    let operator = Keeper::load(Roles::OPERATOR, Some(&file), None)
        .unwrap()
        .unwrap();
    create(&operator, &approvals, Guuid::new(5, 5));
    assert!(operator.take_replica(snapshot.stamp, book()).unwrap());
    assert_eq!(operator.replica_stamp(), Some(snapshot.stamp));

    // The same book again: nothing is written.
    std::fs::remove_file(&file).unwrap();
    assert!(!operator.take_replica(snapshot.stamp, book()).unwrap());
    assert!(!file.exists());
    assert!(
        operator
            .take_replica(Snapshot::of(&ClusterBook::default()).stamp, book())
            .unwrap()
    );
    assert!(file.exists());

    // A restart reads it back: the host's clusters (the deployment's
    // still marked) beside the operator's own, and the reads answer.
    let again = Keeper::load(Roles::OPERATOR, Some(&file), None)
        .unwrap()
        .unwrap();
    assert_eq!(again.read(ClusterBook::len), 3);
    assert!(again.read(|b| b.get(&deployment_id("e2e")).unwrap().pinned));
    assert!(again.read(|b| b.is_replicated(&Guuid::new(4, 4))));
    assert!(!again.read(|b| b.is_replicated(&Guuid::new(5, 5))));
    let operator_actor = Actor {
        id: Hash32([9; 32]),
        roles: Roles::OPERATOR,
    };
    let info = ClusterRequest::Info(Info {
        id: Guuid::new(4, 4),
        options: ClusterOptions::default(),
    });
    let handled = again.handle(&approvals, operator_actor, info);
    assert_eq!(handled.reply.code(), RetCode::Success);
}
