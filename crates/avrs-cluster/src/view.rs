//! One node's picture of the cluster: who is alive and what each member
//! last said about itself. Ordered maps keep every walk deterministic.

use crate::identity::MemberId;
use crate::state::{ContentLocation, NodeState};
use avrs_proto::{Guuid, Hash32};
use std::collections::BTreeMap;
use std::time::Duration;

/// Liveness as the membership layer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    /// Some member missed its probe; still served, never chosen anew.
    Suspect,
    /// Declared down at `since`; its state is kept for `reconnect_timeout`.
    Down {
        since: Duration,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    pub id: Option<MemberId>,
    pub liveness: Liveness,
    pub state: Option<NodeState>,
}

impl MemberInfo {
    pub fn is_alive(&self) -> bool {
        self.liveness == Liveness::Alive
    }
}

#[derive(Debug, Clone)]
pub struct ClusterView {
    me: Hash32,
    members: BTreeMap<Hash32, MemberInfo>,
}

impl ClusterView {
    pub fn new(me: Hash32) -> Self {
        Self {
            me,
            members: BTreeMap::new(),
        }
    }

    pub fn me(&self) -> Hash32 {
        self.me
    }

    pub fn get(&self, member: &Hash32) -> Option<&MemberInfo> {
        self.members.get(member)
    }

    pub fn members(&self) -> impl Iterator<Item = (&Hash32, &MemberInfo)> {
        self.members.iter()
    }

    pub fn is_alive(&self, member: &Hash32) -> bool {
        self.members.get(member).is_some_and(MemberInfo::is_alive)
    }

    /// A member of the cluster as SWIM counts it: alive or suspect.
    pub fn is_active(&self, member: &Hash32) -> bool {
        self.members
            .get(member)
            .is_some_and(|i| !matches!(i.liveness, Liveness::Down { .. }))
    }

    fn entry(&mut self, member: Hash32) -> &mut MemberInfo {
        self.members.entry(member).or_insert(MemberInfo {
            id: None,
            liveness: Liveness::Alive,
            state: None,
        })
    }

    /// Records a member the membership layer reports up (or ourselves).
    pub fn member_up(&mut self, id: MemberId) {
        let info = self.entry(id.key);
        // A restarted member (new incarnation) listens elsewhere now: its
        // old state would send clients to dead addresses.
        if info.id.is_some_and(|old| old.incarnation != id.incarnation) {
            info.state = None;
        }
        info.id = Some(id);
        info.liveness = Liveness::Alive;
    }

    pub fn set_liveness(&mut self, member: Hash32, liveness: Liveness) {
        if let Some(info) = self.members.get_mut(&member) {
            // A down member stays down at its first `since`.
            if !matches!(
                (info.liveness, liveness),
                (Liveness::Down { .. }, Liveness::Down { .. })
            ) {
                info.liveness = liveness;
            }
        }
    }

    /// Stores a member's newer state. A state never revives a down member:
    /// only the membership layer does.
    pub fn upsert_state(&mut self, state: NodeState) {
        let info = self.entry(state.member);
        if info
            .state
            .as_ref()
            .is_none_or(|s| s.version < state.version)
        {
            info.state = Some(state);
        }
    }

    /// Forgets `member` now (removed from the cluster); never ourselves.
    pub fn forget(&mut self, member: &Hash32) -> bool {
        *member != self.me && self.members.remove(member).is_some()
    }

    /// Forgets members down for longer than `reconnect_timeout`.
    pub fn expire(&mut self, now: Duration, reconnect_timeout: Duration) -> Vec<Hash32> {
        let expired: Vec<Hash32> = self
            .members
            .iter()
            .filter(|(_, info)| match info.liveness {
                Liveness::Down { since } => now.saturating_sub(since) >= reconnect_timeout,
                _ => false,
            })
            .map(|(k, _)| *k)
            .collect();
        for key in &expired {
            self.members.remove(key);
        }
        expired
    }

    /// Live members holding `content`, with where they sit in its tree.
    pub fn holders(
        &self,
        content: Guuid,
    ) -> impl Iterator<Item = (&Hash32, &NodeState, &ContentLocation)> {
        self.members.iter().filter_map(move |(key, info)| {
            if !info.is_alive() {
                return None;
            }
            let state = info.state.as_ref()?;
            Some((key, state, state.location(content)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::PeerAddr;
    use avrs_proto::avrs::Roles;

    #[test]
    fn down_members_expire_after_reconnect_timeout() {
        let mut v = ClusterView::new(Hash32([0; 32]));
        let id = MemberId::new(Hash32([1; 32]), PeerAddr::default());
        v.member_up(id);
        v.upsert_state(NodeState::new(id.key, Roles::SERVER, 0));
        v.set_liveness(
            id.key,
            Liveness::Down {
                since: Duration::from_secs(5),
            },
        );
        assert!(!v.is_alive(&id.key));
        assert!(v.get(&id.key).unwrap().state.is_some());
        let ten = Duration::from_secs(10);
        assert!(v.expire(Duration::from_secs(14), ten).is_empty());
        assert_eq!(v.expire(Duration::from_secs(15), ten), vec![id.key]);
        assert!(v.get(&id.key).is_none());
    }

    #[test]
    fn older_state_is_ignored() {
        let mut v = ClusterView::new(Hash32([0; 32]));
        let mut s = NodeState::new(Hash32([1; 32]), Roles::SERVER, 0);
        s.version = 5;
        v.upsert_state(s.clone());
        s.version = 4;
        s.region = 9;
        v.upsert_state(s);
        let got = v.get(&Hash32([1; 32])).unwrap().state.as_ref().unwrap();
        assert_eq!(got.region, 0);
    }
}
