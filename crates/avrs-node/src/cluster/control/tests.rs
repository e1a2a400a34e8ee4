//! The node's side of cluster control: who keeps a book, the file, and the
//! deployment's cluster acting on the real roster.

use super::*;
use crate::cluster::roster::JoinOutcome;
use crate::cluster::wire::JoinRequest;
use avrs_cluster::{MemberId, PeerAddr};
use avrs_crypto::{Algorithm, SigningKey};
use avrs_proto::avrs::cluster::{
    ClusterOptions, Create, Info, MemberApprove, MemberRemove, RoleAssign,
};

pub(super) const HOST: Hash32 = Hash32([1; 32]);

fn join(n: u8, roles: Roles) -> JoinRequest {
    let key = SigningKey::from_seed(Algorithm::Ed25519, &[n; 32]).unwrap();
    JoinRequest {
        cluster: Hash32::default(),
        unix_secs: 0,
        roles,
        member: MemberId {
            key: key.id(),
            addr: PeerAddr::default(),
            incarnation: 1,
        },
        key: key.public_key().clone(),
        certificate: None,
    }
}

pub(super) fn host_keeper(file: Option<&Path>) -> Keeper {
    let deployment = Deployment {
        id: deployment_id("e2e"),
        owner: HOST,
        title: "e2e",
    };
    Keeper::load(Roles::HOST, file, Some(deployment))
        .unwrap()
        .expect("a host keeps a book")
}

fn code(handled: &Handled) -> (RetCode, String) {
    match &handled.reply {
        Reply::Code(packet) => (packet.code, packet.text.clone()),
        Reply::Packet(packet) => (RetCode::Success, packet.kind().name().to_owned()),
    }
}

#[test]
fn only_hosts_and_operators_keep_a_book() {
    for roles in [Roles::SERVER, Roles::BALANCER, Roles::CLIENT] {
        assert!(Keeper::load(roles, None, None).unwrap().is_none());
    }
    let operator = Keeper::load(Roles::OPERATOR, None, None).unwrap().unwrap();
    assert_eq!(operator.deployment(), None);
    assert_eq!(operator.read(ClusterBook::len), 0);
    assert_eq!(token_roles(TokenRole::Publisher), Roles::CLIENT);
    assert_eq!(token_roles(TokenRole::Server), Roles::SERVER);
}

#[test]
fn the_book_is_saved_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster-book.json");
    let approvals = Mutex::new(Approvals::default());
    let keeper = host_keeper(Some(&file));
    let host = Actor {
        id: HOST,
        roles: Roles::HOST,
    };
    let create = ClusterRequest::Create(Create {
        id: Some(Guuid::new(4, 4)),
        options: ClusterOptions::default(),
    });
    assert_eq!(
        code(&keeper.handle(&approvals, host, create)).0,
        RetCode::Success
    );
    let again = host_keeper(Some(&file));
    let info = ClusterRequest::Info(Info {
        id: Guuid::new(4, 4),
        options: ClusterOptions::default(),
    });
    assert_eq!(
        code(&again.handle(&approvals, host, info)),
        (RetCode::Success, "INFO".into())
    );
    assert_eq!(again.read(ClusterBook::len), 2, "and the deployment's");
    // A file that cannot be believed stops the node, naming the file.
    std::fs::write(&file, b"{\"version\": 1, \"clusters\": [").unwrap();
    let err = Keeper::load(Roles::HOST, Some(&file), None).unwrap_err();
    assert!(err.to_string().contains("cluster-book.json"), "{err}");
}

#[test]
fn the_deployments_cluster_acts_on_the_roster() {
    let approvals = Mutex::new(Approvals::default());
    let keeper = host_keeper(None);
    let id = deployment_id("e2e");
    let (server, boss) = (join(2, Roles::SERVER), join(3, Roles::OPERATOR));
    for request in [&server, &boss] {
        let outcome = lock(&approvals).on_join(request, None);
        assert!(matches!(outcome, JoinOutcome::Pending { .. }));
    }
    let operator = Actor {
        id: Hash32([7; 32]),
        roles: Roles::OPERATOR,
    };
    let approve = |member: Hash32| ClusterRequest::MemberApprove(MemberApprove { id, member });
    let handled = keeper.handle(&approvals, operator, approve(boss.member.key));
    assert_eq!(
        code(&handled),
        (RetCode::MemberSecurityIssue, "ROLE_ESCALATION".into())
    );
    assert!(lock(&approvals).pending.contains_key(&boss.member.key));
    let handled = keeper.handle(&approvals, operator, approve(server.member.key));
    assert_eq!(code(&handled), (RetCode::Success, "APPROVED".into()));
    let roster = lock(&approvals).roster_roles(&server.member.key);
    assert_eq!(roster, Some(Roles::SERVER));
    // Roles assigned by the host, then the member removed.
    let host = Actor {
        id: HOST,
        roles: Roles::HOST,
    };
    let assign = ClusterRequest::RoleAssign(RoleAssign {
        id,
        member: server.member.key,
        role: Roles::SERVER | Roles::BALANCER,
    });
    assert_eq!(
        code(&keeper.handle(&approvals, host, assign)).0,
        RetCode::Success
    );
    let roster = lock(&approvals).roster_roles(&server.member.key);
    assert_eq!(roster, Some(Roles::SERVER | Roles::BALANCER));
    let remove = ClusterRequest::MemberRemove(MemberRemove {
        id,
        member: server.member.key,
    });
    assert_eq!(
        code(&keeper.handle(&approvals, operator, remove)).0,
        RetCode::Success
    );
    let mut roster = lock(&approvals);
    assert_eq!(roster.roster_roles(&server.member.key), None);
    let removed: Vec<Hash32> = roster.take_removals().iter().map(|r| r.member).collect();
    assert_eq!(removed, [server.member.key]);
    drop(roster);
    let members = keeper.read(|book| book.get(&id).unwrap().members.len());
    assert_eq!(members, 1, "the host only");
}
