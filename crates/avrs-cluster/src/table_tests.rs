use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;

const C: Guuid = Guuid::new(1, 1);

fn h(n: u8) -> Hash32 {
    Hash32([n; 32])
}

#[test]
fn origin_cap_bounds_children() {
    let mut origin = RouteTable::new(h(0), 4, 8, 16);
    origin.publish_origin(C);
    for n in 1..=4 {
        let grant = origin.accept_child(C, h(n)).unwrap();
        assert_eq!(grant.path, vec![h(0)]);
    }
    assert_eq!(
        origin.accept_child(C, h(5)),
        Err(ClusterError::RelayFull { children: 4 })
    );
    // Asking again for a child already fed is not a new copy.
    assert!(origin.accept_child(C, h(2)).is_ok());
    assert_eq!(origin.children(C).count(), 4);
}

#[test]
fn relay_grants_its_path_and_refuses_loops() {
    let mut origin = RouteTable::new(h(0), 4, 8, 16);
    origin.publish_origin(C);
    let mut relay = RouteTable::new(h(1), 4, 2, 16);
    assert!(relay.want(C));
    assert_eq!(relay.accept_child(C, h(2)), Err(ClusterError::NotAttached));
    let depth = relay.complete_attach(origin.accept_child(C, h(1)).unwrap());
    assert_eq!(depth, Ok(1));
    let grant = relay.accept_child(C, h(2)).unwrap();
    assert_eq!(grant.path, vec![h(0), h(1)]);
    assert_eq!(
        relay.accept_child(C, h(0)),
        Err(ClusterError::RouteLoop(h(0)))
    );
    assert_eq!(
        relay.accept_child(C, h(1)),
        Err(ClusterError::RouteLoop(h(1)))
    );
    // A grant that names the receiver is refused by the receiver too.
    let mut other = RouteTable::new(h(0), 4, 8, 16);
    other.want(C);
    assert_eq!(
        other.complete_attach(grant),
        Err(ClusterError::RouteLoop(h(0)))
    );
    assert_eq!(relay.route_check(C, h(2)), RouteCheck::Fed);
    assert_eq!(relay.route_check(C, h(3)), RouteCheck::NotOurChild);
}

#[test]
fn losing_the_parent_drops_the_subtree_and_depth_is_capped() {
    let mut origin = RouteTable::new(h(0), 4, 8, 2);
    origin.publish_origin(C);
    let mut relay = RouteTable::new(h(1), 4, 8, 2);
    relay.want(C);
    relay
        .complete_attach(origin.accept_child(C, h(1)).unwrap())
        .unwrap();
    relay.accept_child(C, h(2)).unwrap();
    assert_eq!(relay.accept_child(C, h(3)).map(|_| ()), Ok(()));
    let mut deep = RouteTable::new(h(2), 4, 8, 2);
    deep.want(C);
    deep.complete_attach(relay.accept_child(C, h(2)).unwrap())
        .unwrap();
    assert_eq!(deep.accept_child(C, h(4)), Err(ClusterError::TooDeep(3)));
    assert_eq!(relay.parent_del(C, h(9)), None);
    assert_eq!(relay.member_down(h(0)), vec![(C, vec![h(2), h(3)])]);
    assert!(!relay.is_attached(C));
    assert_eq!(relay.route_check(C, h(2)), RouteCheck::Unavailable);
    let loc = relay.locations();
    assert!(!loc[0].attached);
}

#[derive(Debug)]
enum Msg {
    Add {
        from: usize,
        to: usize,
    },
    Grant {
        to: usize,
        from: usize,
        grant: RouteGrant,
    },
    Del {
        from: usize,
        to: usize,
    },
}

/// Data-flow edges (parent -> child as parents see them) have no cycle.
fn acyclic(tables: &[RouteTable], alive: &[bool]) -> bool {
    let index = |k: &Hash32| usize::from(k.0[0]);
    // Depth-first search with colours.
    fn visit(
        n: usize,
        tables: &[RouteTable],
        alive: &[bool],
        colour: &mut [u8],
        index: &dyn Fn(&Hash32) -> usize,
    ) -> bool {
        if colour[n] == 1 {
            return false;
        }
        if colour[n] == 2 || !alive[n] {
            return true;
        }
        colour[n] = 1;
        for c in tables[n].children(C) {
            if !visit(index(c), tables, alive, colour, index) {
                return false;
            }
        }
        colour[n] = 2;
        true
    }
    let mut colour = vec![0u8; tables.len()];
    (0..tables.len()).all(|n| visit(n, tables, alive, &mut colour, &index))
}

proptest! {
    /// Random attaches, deaths and out-of-order delivery never make a loop.
    #[test]
    fn no_loops_under_random_join_and_leave(
        ops in proptest::collection::vec((0u8..4, 0usize..8, 0usize..8, 0usize..64), 1..300)
    ) {
        let n = 8;
        let mut tables: Vec<RouteTable> = (0..n).map(|i| RouteTable::new(h(i as u8), 2, 2, 6)).collect();
        tables[0].publish_origin(C);
        let mut alive = vec![true; n];
        let mut queue: VecDeque<Msg> = VecDeque::new();
        for (kind, a, b, pick) in ops {
            match kind {
                // A detached node asks someone for a feed.
                0 if alive[a] && a != 0 => {
                    tables[a].want(C);
                    if !tables[a].is_attached(C) {
                        queue.push_back(Msg::Add { from: a, to: b });
                    }
                }
                // A node dies (never the origin) and everyone notices.
                1 if a != 0 && alive[a] => {
                    alive[a] = false;
                    for i in 0..n {
                        if alive[i] {
                            for (_, orphans) in tables[i].member_down(h(a as u8)) {
                                for o in orphans {
                                    queue.push_back(Msg::Del { from: i, to: usize::from(o.0[0]) });
                                }
                            }
                        }
                    }
                }
                // Deliver any pending message, in any order.
                _ if !queue.is_empty() => {
                    let msg = queue.remove(pick % queue.len()).unwrap();
                    match msg {
                        Msg::Add { from, to } if alive[to] => {
                            if let Ok(grant) = tables[to].accept_child(C, h(from as u8)) {
                                queue.push_back(Msg::Grant { to: from, from: to, grant });
                            }
                        }
                        Msg::Grant { to, from, grant } if alive[to] => {
                            let refused = tables[to].complete_attach(grant).is_err();
                            // A late grant: give the slot back.
                            if refused && tables[to].parent(C) != Some(h(from as u8)) {
                                queue.push_back(Msg::Del { from: to, to: from });
                            }
                        }
                        Msg::Del { from, to } if alive[to] => {
                            tables[to].remove_child(C, h(from as u8));
                            if let Some(orphans) = tables[to].parent_del(C, h(from as u8)) {
                                for o in orphans {
                                    queue.push_back(Msg::Del { from: to, to: usize::from(o.0[0]) });
                                }
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            prop_assert!(acyclic(&tables, &alive));
            prop_assert!(tables[0].children(C).count() <= 2);
        }
    }
}
