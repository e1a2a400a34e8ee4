//! The receiver's view of a stream's `seq_id` counter: one per stream,
//! shared by all channels, starting at 0, expected to grow by one.

/// What the tracker made of one `seq_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqVerdict {
    /// Accepted; `lost` seq ids were skipped just before it (0 when in order).
    Accept { lost: u64 },
    /// Not above the last accepted one: drop it.
    Replay { last: u64 },
}

/// Tracks the last accepted `seq_id` of a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqTracker {
    last: Option<u64>,
}

impl SeqTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The last accepted `seq_id`, if any.
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// Judges `seq_id` and, if accepted, remembers it.
    pub fn check(&mut self, seq_id: u64) -> SeqVerdict {
        match self.last {
            Some(last) if seq_id <= last => SeqVerdict::Replay { last },
            last => {
                // The first packet is expected to carry 0.
                let expected = last.map_or(0, |l| l + 1);
                self.last = Some(seq_id);
                SeqVerdict::Accept {
                    lost: seq_id - expected,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_gap_and_replay() {
        let mut t = SeqTracker::new();
        assert_eq!(t.check(0), SeqVerdict::Accept { lost: 0 });
        assert_eq!(t.check(1), SeqVerdict::Accept { lost: 0 });
        assert_eq!(t.check(5), SeqVerdict::Accept { lost: 3 });
        assert_eq!(t.check(5), SeqVerdict::Replay { last: 5 });
        assert_eq!(t.check(2), SeqVerdict::Replay { last: 5 });
        assert_eq!(t.last(), Some(5));
        assert_eq!(t.check(6), SeqVerdict::Accept { lost: 0 });
    }

    #[test]
    fn first_packet_counts_what_came_before_it_as_lost() {
        let mut t = SeqTracker::new();
        assert_eq!(t.check(4), SeqVerdict::Accept { lost: 4 });
    }

    #[test]
    fn the_top_of_the_counter_does_not_overflow() {
        let mut t = SeqTracker::new();
        assert_eq!(t.check(u64::MAX), SeqVerdict::Accept { lost: u64::MAX });
        assert_eq!(t.check(u64::MAX), SeqVerdict::Replay { last: u64::MAX });
        assert_eq!(t.check(0), SeqVerdict::Replay { last: u64::MAX });
    }
}
