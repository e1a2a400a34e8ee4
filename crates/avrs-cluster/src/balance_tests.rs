//! The balancer under a burst of clients while load reports lag: hand-outs
//! must hold until a report shows them, and count against a capacity even
//! when a server has reported none.

use super::*;
use crate::identity::{MemberId, PeerAddr};

const CAP: u32 = 100;

fn key(n: u8) -> Hash32 {
    Hash32([n; 32])
}

/// Puts server `n` in the view with `connections` at `version`, and
/// `max_connections` = `capacity` (0 = none reported).
fn report(view: &mut ClusterView, n: u8, version: u64, connections: u32, capacity: u32) {
    view.member_up(MemberId::new(key(n), PeerAddr::default()));
    let mut s = NodeState::new(key(n), Roles::SERVER, 0);
    s.version = version;
    s.load.connections = connections;
    s.load.max_connections = capacity;
    view.upsert_state(s);
}

fn request() -> BalanceRequest {
    BalanceRequest {
        client_region: 0,
        content: None,
        exclude: Vec::new(),
    }
}

/// Hands out `n` clients; how many each server got (index = server byte).
fn burst(b: &mut Balancer, view: &ClusterView, n: usize) -> [u32; 8] {
    let mut got = [0u32; 8];
    for _ in 0..n {
        if let Some(k) = b.choose_server(&request(), view) {
            got[usize::from(k.0[0])] += 1;
        }
    }
    got
}

#[test]
fn a_late_report_does_not_forget_hand_outs() {
    let mut v = ClusterView::new(key(0));
    report(&mut v, 1, 1, 0, CAP);
    let mut b = Balancer::new(800, Duration::from_secs(60));
    b.tick(&v, Duration::from_secs(10));
    assert_eq!(burst(&mut b, &v, 80)[1], 80);
    // A newer version measured before the clients arrived: still 0
    // connections. It used to restart the count, so 80 more fitted.
    report(&mut v, 1, 2, 0, CAP);
    assert_eq!(burst(&mut b, &v, 80)[1], 20, "capacity is 100");
    assert_eq!(b.choose_server(&request(), &v), None);
}

#[test]
fn a_report_that_counts_the_clients_settles_them() {
    let mut v = ClusterView::new(key(0));
    report(&mut v, 1, 1, 0, CAP);
    let mut b = Balancer::new(800, Duration::from_secs(60));
    assert_eq!(burst(&mut b, &v, 60)[1], 60);
    // A report of fewer may predate some of them: they are kept.
    report(&mut v, 1, 2, 30, CAP);
    assert_eq!(
        b.projected_connections(&key(1), v.get(&key(1)).unwrap().state.as_ref().unwrap()),
        60
    );
    // One that counts ours and 15 sent by another balancer is the truth
    // from here, without waiting.
    report(&mut v, 1, 3, 75, CAP);
    assert_eq!(burst(&mut b, &v, 100)[1], 25);
}

#[test]
fn a_newer_report_long_after_the_hand_outs_settles_them() {
    let mut v = ClusterView::new(key(0));
    report(&mut v, 1, 1, 0, CAP);
    let mut b = Balancer::new(800, Duration::from_secs(60));
    b.tick(&v, Duration::from_secs(1));
    assert_eq!(burst(&mut b, &v, 100)[1], 100);
    assert_eq!(b.choose_server(&request(), &v), None);
    // The clients never arrived: the server reports 10 in a version that
    // reached us well after the hand-outs. It is used again.
    report(&mut v, 1, 5, 10, CAP);
    b.tick(&v, Duration::from_secs(1) + HAND_OUT_HOLD);
    assert_eq!(burst(&mut b, &v, 100)[1], 90);
    // Without a newer report the wait does not end, however long.
    b.tick(&v, Duration::from_secs(600));
    assert_eq!(b.choose_server(&request(), &v), None);
}

#[test]
fn a_burst_over_servers_without_fresh_reports_respects_capacity() {
    let mut v = ClusterView::new(key(0));
    for n in 1..=4 {
        report(&mut v, n, 1, 0, CAP);
    }
    let mut b = Balancer::new(800, Duration::from_secs(60));
    let got = burst(&mut b, &v, 1000);
    assert_eq!(&got[1..=4], &[CAP; 4], "evenly, each to capacity");
    assert_eq!(b.choose_server(&request(), &v), None);
}

#[test]
fn a_server_that_reports_no_capacity_is_not_bottomless() {
    let mut v = ClusterView::new(key(0));
    // Server 1 published its state before its load: capacity 0. It used
    // to score 0 % loaded however many clients it got, and took them all.
    report(&mut v, 1, 1, 0, 0);
    report(&mut v, 2, 1, 0, CAP);
    let mut b = Balancer::new(800, Duration::from_secs(60));
    let got = burst(&mut b, &v, 300);
    assert_eq!((got[1], got[2]), (CAP, CAP), "assumed as large as server 2");
    // Alone in the view, it is assumed to take the fallback capacity.
    let mut v = ClusterView::new(key(0));
    report(&mut v, 1, 1, 0, 0);
    let mut b = Balancer::new(800, Duration::from_secs(60));
    assert_eq!(burst(&mut b, &v, 5000)[1], FALLBACK_CAPACITY);
}

#[test]
fn tick_forgets_hand_outs_of_gone_and_settled_servers() {
    let mut v = ClusterView::new(key(0));
    report(&mut v, 1, 1, 0, CAP);
    report(&mut v, 2, 1, 0, CAP);
    let mut b = Balancer::new(800, Duration::from_secs(60));
    burst(&mut b, &v, 10);
    assert_eq!(b.handed_out.len(), 2);
    report(&mut v, 1, 2, 5, CAP);
    v.set_liveness(
        key(2),
        crate::view::Liveness::Down {
            since: Duration::ZERO,
        },
    );
    b.tick(&v, Duration::from_secs(1));
    assert!(b.handed_out.is_empty());
}

#[test]
fn a_relay_parent_keeps_room_for_its_children() {
    use crate::state::ContentLocation;
    let mut v = ClusterView::new(key(0));
    report(&mut v, 1, 1, 0, CAP);
    let mut s = v.get(&key(1)).unwrap().state.clone().unwrap();
    s.version = 2;
    s.contents.push(ContentLocation {
        content: avrs_proto::Guuid::new(5, 5),
        depth: 0,
        attached: true,
        children: 1,
        child_cap: 4,
        parent: None,
    });
    v.upsert_state(s);
    let mut b = Balancer::new(800, Duration::from_secs(60));
    // 3 free child slots stay free, or no relay could attach to it.
    assert_eq!(burst(&mut b, &v, 200)[1], CAP - 3);
}

#[test]
fn each_balancer_fills_only_its_share_of_unreported_room() {
    let mut v = ClusterView::new(key(0));
    report(&mut v, 1, 1, 20, CAP);
    // We (0) and member 2 are balancers: both may see the 80 free.
    for n in [0, 2] {
        v.member_up(MemberId::new(key(n), PeerAddr::default()));
        let mut s = NodeState::new(key(n), Roles::BALANCER, 0);
        s.version = 1;
        v.upsert_state(s);
    }
    let mut b = Balancer::new(800, Duration::from_secs(60));
    assert_eq!(burst(&mut b, &v, 100)[1], 40);
    // A report that shows them (and 30 from the other balancer) settles
    // them: half of the 10 left.
    report(&mut v, 1, 2, 90, CAP);
    b.tick(&v, HAND_OUT_HOLD);
    assert_eq!(burst(&mut b, &v, 100)[1], 5);
}
