//! The server's half of session resume (see [`crate::native::resume`]):
//! parking a lost session, handing a live one over, and restoring the
//! slots of one taken back.

use super::{Connection, SlotError, close};
use crate::native::resume::{Handover, Parked, ParkedSlot};
use crate::native::session::ended_notice;
use crate::native::slots::SlotTask;
use avrs_proto::avrs::quic::CloseCode;
use avrs_proto::avrs::{RetCode, RetCodePacket, SubType};
use std::ops::ControlFlow;
use tokio::sync::mpsc;

impl Connection {
    /// The connection is over: a session that was lost rather than ended
    /// is parked for `reconnect_timeout`.
    pub(super) fn park_if_lost(&mut self) {
        let Some(id) = self.session.id() else {
            return;
        };
        if !super::lost(&self.conn) {
            return;
        }
        let parked = self.take_parked();
        let timeout = self.context.registry.reconnect_timeout();
        tracing::info!(
            remote = %self.remote,
            session = %&id.to_hex()[..16],
            slots = parked.slots.len(),
            "native: connection lost, session kept for resume"
        );
        let resumable = &self.context.native_sessions.resumable;
        resumable.park(id, parked, timeout, std::time::Instant::now());
    }

    /// A newer connection of the same session asks for it: it gets the
    /// slots, and this connection closes with SESSION_MOVED.
    pub(super) fn hand_over(&mut self, handover: Handover) -> ControlFlow<()> {
        let parked = self.take_parked();
        tracing::info!(remote = %self.remote, "native: session resumed on a newer connection");
        if let Err(parked) = handover.send(parked)
            && let Some(id) = self.session.id()
        {
            // The asker gave up waiting: keep it for its next try.
            let timeout = self.context.registry.reconnect_timeout();
            let resumable = &self.context.native_sessions.resumable;
            resumable.park(id, parked, timeout, std::time::Instant::now());
        }
        close(&self.conn, CloseCode::SessionMoved, "SESSION_MOVED");
        ControlFlow::Break(())
    }

    /// Stops every slot and says how to restore it.
    fn take_parked(&mut self) -> Parked {
        let mut slots = Vec::new();
        for (content_id, task) in self.viewers.drain() {
            let Some(mut request) = self.requests.remove(&content_id) else {
                task.stop();
                continue;
            };
            if let SlotTask::Vod(player) = &task {
                request.start = Some(player.position());
            }
            task.stop();
            let sealed = self.sealed.remove(&content_id).map(|c| c.id());
            slots.push(ParkedSlot {
                content_id,
                request,
                sealed,
            });
        }
        slots.sort_by_key(|slot| slot.content_id);
        Parked {
            slots,
            stats: self.stats.clone(),
            token: self.session.token().map(str::to_owned),
        }
    }

    /// OPEN with RESUME found the session: its figures carry on, the reply
    /// is `RESUMED` and the slot ids, then each slot starts again (its
    /// CONTENT_UPDATE on the control stream, then groups from the newest
    /// keyframe, or for a VoD from where it had got to). A slot that cannot
    /// start again (content gone, grant ended) gets a CONTENT_REMOVE.
    pub(super) async fn resume(
        &mut self,
        parked: Parked,
        ended: &mpsc::UnboundedSender<u32>,
    ) -> ControlFlow<()> {
        self.listed.adopt(parked.stats.clone(), self.remote);
        self.stats = parked.stats;
        if self.session.token().is_none() {
            self.session.set_token(parked.token);
        }
        let ids: Vec<String> = parked
            .slots
            .iter()
            .map(|slot| slot.content_id.to_string())
            .collect();
        let text = format!("RESUMED {}", ids.join(" "));
        tracing::info!(remote = %self.remote, slots = ids.len(), "native: session resumed");
        if self
            .reply(&RetCodePacket::with_text(RetCode::Success, text.trim_end()))
            .await
            .is_break()
        {
            return ControlFlow::Break(());
        }
        for slot in parked.slots {
            self.session.restore_slot(slot.content_id);
            match self.start_slot(slot.content_id, slot.request, ended).await {
                Ok(_) => {}
                Err(SlotError::ConnectionGone) => return ControlFlow::Break(()),
                Err(SlotError::Refused(reply)) => {
                    if self
                        .slot_not_restored(slot.content_id, slot.sealed, &reply)
                        .await
                        .is_break()
                    {
                        return ControlFlow::Break(());
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }

    async fn slot_not_restored(
        &mut self,
        content_id: u32,
        sealed: Option<avrs_proto::Guuid>,
        reply: &RetCodePacket,
    ) -> ControlFlow<()> {
        tracing::info!(remote = %self.remote, content_id, code = %reply.code, text = %reply.text, "native: slot not restored");
        self.session.content_ended(content_id);
        // It held the key of a content it may no longer watch.
        if let Some(content) = sealed
            && let Err(err) = self.context.content_keys.rotate(content)
        {
            tracing::error!(%err, "cannot rotate a content key");
        }
        match self
            .control
            .write(SubType::Session, &ended_notice(content_id))
            .await
        {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }
}
