//! What streams a session's content slot: a live viewer or a VoD player.

use super::viewer::Viewer;
use super::vod::VodPlayer;

#[derive(Debug)]
pub enum SlotTask {
    Live(Viewer),
    Vod(VodPlayer),
}

impl SlotTask {
    /// Stops streaming; open group streams are reset.
    pub fn stop(self) {
        match self {
            SlotTask::Live(viewer) => viewer.stop(),
            SlotTask::Vod(player) => player.stop(),
        }
    }
}
