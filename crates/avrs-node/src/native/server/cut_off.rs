//! A member cut off on this node (removed from the cluster, or a
//! certificate on its path revoked): its sessions here end the way a
//! revoked grant ends them, with the same close code and audit line.

use super::Connection;
use crate::native::sessions::CutOff;
use avrs_auth::audit::AuditEvent;
use std::ops::ControlFlow;

impl Connection {
    /// Ends this session when `cut` names its signer; other members' cut-offs
    /// change nothing here.
    pub(super) async fn cut_off(&mut self, cut: CutOff) -> ControlFlow<()> {
        if self.session.id() != Some(cut.member) {
            return ControlFlow::Continue(());
        }
        let member = cut.member.to_hex();
        self.context.authorizer.audit(AuditEvent {
            event: "session_closed",
            subject: Some(member.clone()),
            peer: Some(self.remote.to_string()),
            result: "deny",
            reason: Some(cut.why.to_string()),
            ..AuditEvent::default()
        });
        tracing::warn!(remote = %self.remote, %member, why = %cut.why,
            "native: session closed: its member was cut off");
        self.revoked(cut.why).await
    }
}
