//! The frames of the part being filled, in output time.

use crate::MediaFrame;

/// Most frames one part may hold, counting both tracks.
pub(crate) const MAX_PART_FRAMES: usize = 2048;

#[derive(Debug, Default)]
pub(crate) struct PartBuffer {
    /// Output time the part starts at.
    pub(crate) start: i64,
    driver: Vec<MediaFrame>,
    followers: Vec<MediaFrame>,
    bytes: usize,
}

impl PartBuffer {
    pub(crate) fn has_driver(&self) -> bool {
        !self.driver.is_empty()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn frames(&self) -> usize {
        self.driver.len() + self.followers.len()
    }

    pub(crate) fn driver(&self) -> &[MediaFrame] {
        &self.driver
    }

    /// The follower frames that belong before `end` (all with `None`).
    pub(crate) fn followers_before(&self, end: Option<i64>) -> &[MediaFrame] {
        let count = match end {
            Some(end) => self.followers.partition_point(|f| f.dts < end),
            None => self.followers.len(),
        };
        &self.followers[..count]
    }

    pub(crate) fn push_driver(&mut self, frame: MediaFrame) {
        self.bytes += frame.data.len();
        self.driver.push(frame);
    }

    pub(crate) fn push_follower(&mut self, frame: MediaFrame) {
        self.bytes += frame.data.len();
        self.followers.push(frame);
    }

    /// Forgets the driver frames and the first `followers` follower frames,
    /// written into a part ending at `end`, where the next part starts.
    pub(crate) fn consume(&mut self, followers: usize, end: i64) {
        let followers = followers.min(self.followers.len());
        let written: usize = self
            .driver
            .iter()
            .chain(&self.followers[..followers])
            .map(|f| f.data.len())
            .sum();
        self.bytes -= written;
        self.driver.clear();
        self.followers.drain(..followers);
        self.start = end;
    }

    /// Forgets everything but the start.
    pub(crate) fn clear(&mut self) {
        self.driver.clear();
        self.followers.clear();
        self.bytes = 0;
    }
}
