//! The relay's cache of recent groups of pictures: a child or viewer that
//! attaches starts from the newest keyframe group at once, and a relay
//! whose parent is being replaced keeps what it has for late readers.

use bytes::Bytes;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct GroupCache {
    max_groups: usize,
    max_bytes: usize,
    bytes: usize,
    groups: VecDeque<(u64, Bytes)>,
}

impl GroupCache {
    pub fn new(max_groups: usize, max_bytes: usize) -> Self {
        Self {
            max_groups: max_groups.max(1),
            max_bytes,
            bytes: 0,
            groups: VecDeque::new(),
        }
    }

    /// Adds group `sequence`; older groups go first when a cap is reached.
    /// A group older than the newest is ignored (a re-routed parent may
    /// resend it).
    pub fn push(&mut self, sequence: u64, group: Bytes) {
        if self.groups.back().is_some_and(|(s, _)| *s >= sequence) {
            return;
        }
        self.bytes += group.len();
        self.groups.push_back((sequence, group));
        while self.groups.len() > self.max_groups
            || (self.bytes > self.max_bytes && self.groups.len() > 1)
        {
            if let Some((_, old)) = self.groups.pop_front() {
                self.bytes -= old.len();
            }
        }
    }

    pub fn newest(&self) -> Option<(u64, &Bytes)> {
        self.groups.back().map(|(s, g)| (*s, g))
    }

    /// Groups after `sequence`, oldest first (a child resuming after a gap).
    pub fn after(&self, sequence: u64) -> impl Iterator<Item = (u64, &Bytes)> {
        self.groups
            .iter()
            .filter(move |(s, _)| *s > sequence)
            .map(|(s, g)| (*s, g))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_recent_groups_within_caps() {
        let mut c = GroupCache::new(3, 10);
        for s in 1..=4 {
            c.push(s, Bytes::from(vec![0; 2]));
        }
        assert_eq!(c.newest().map(|(s, _)| s), Some(4));
        assert_eq!(
            c.after(0).map(|(s, _)| s).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        c.push(3, Bytes::from_static(b"late"));
        assert_eq!(c.after(3).count(), 1);
        c.push(5, Bytes::from(vec![0; 9]));
        assert_eq!(c.after(0).map(|(s, _)| s).collect::<Vec<_>>(), vec![5]);
    }
}
