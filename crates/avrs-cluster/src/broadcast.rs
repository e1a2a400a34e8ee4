//! foca's custom broadcasts carry [`NodeState`]s. The handler keeps the
//! newest state per member and tells foca to pass on only news.

use crate::error::ClusterError;
use crate::identity::MemberId;
use crate::state::{MAX_STATE_LEN, NodeState};
use avrs_proto::Hash32;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Newest known state of each member, shared between the handler (inside
/// foca, which has no getter for it) and [`crate::Membership`].
#[derive(Debug, Default)]
pub struct StateTable {
    pub states: BTreeMap<Hash32, NodeState>,
    /// Members whose state changed since the last drain.
    pub changed: Vec<Hash32>,
}

pub(crate) type SharedTable = Arc<Mutex<StateTable>>;

pub(crate) fn lock(table: &SharedTable) -> MutexGuard<'_, StateTable> {
    // Nothing panics while holding it; recover the data if it ever did.
    table
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Identifies one state version; a newer version of a member's state
/// replaces the older in foca's retransmission queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateKey {
    member: Hash32,
    version: u64,
}

impl foca::Invalidates for StateKey {
    fn invalidates(&self, other: &Self) -> bool {
        self.member == other.member && self.version >= other.version
    }
}

#[derive(Debug)]
pub(crate) struct StateBroadcasts {
    pub(crate) table: SharedTable,
}

impl foca::BroadcastHandler<MemberId> for StateBroadcasts {
    type Key = StateKey;
    type Error = ClusterError;

    fn receive_item(
        &mut self,
        data: &[u8],
        _sender: Option<&MemberId>,
    ) -> Result<Option<StateKey>, ClusterError> {
        if data.len() > MAX_STATE_LEN {
            return Err(ClusterError::TooLarge {
                what: "node state",
                max: MAX_STATE_LEN,
                actual: data.len(),
            });
        }
        let state = NodeState::decode(data)?;
        let key = StateKey {
            member: state.member,
            version: state.version,
        };
        let mut table = lock(&self.table);
        if table
            .states
            .get(&state.member)
            .is_some_and(|known| known.version >= state.version)
        {
            return Ok(None);
        }
        table.changed.push(state.member);
        table.states.insert(state.member, state);
        Ok(Some(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use avrs_proto::avrs::Roles;
    use foca::{BroadcastHandler, Invalidates};

    #[test]
    fn only_newer_versions_are_news() {
        let mut h = StateBroadcasts {
            table: SharedTable::default(),
        };
        let mut s = NodeState::new(Hash32([1; 32]), Roles::SERVER, 0);
        s.version = 2;
        let bytes = s.to_vec().unwrap();
        let key = h.receive_item(&bytes, None).unwrap().unwrap();
        assert_eq!(h.receive_item(&bytes, None).unwrap(), None);
        s.version = 1;
        assert_eq!(h.receive_item(&s.to_vec().unwrap(), None).unwrap(), None);
        s.version = 3;
        let newer = h.receive_item(&s.to_vec().unwrap(), None).unwrap().unwrap();
        assert!(newer.invalidates(&key));
        assert!(!key.invalidates(&newer));
        assert!(h.receive_item(&[1, 2, 3], None).is_err());
        assert_eq!(lock(&h.table).changed.len(), 2);
    }
}
