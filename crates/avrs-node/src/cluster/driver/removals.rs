//! Members taken out of the cluster, and what follows: their gossip is
//! refused, their routes dropped and their native sessions here closed.
//! On the host a member goes by MEMBER_REMOVE or by a revocation (its id,
//! or a certificate on the path it was admitted by: `roster::revocation`);
//! on the others, when the host's roster no longer names it, or when this
//! node's own revocation list revokes its id.

use super::super::lock;
use super::super::roster::Removal;
use super::super::wire::{self, RosterEntry};
use super::Driver;
use avrs_auth::revocation::RevokedKind;
use avrs_auth::{AuditEvent, AuthError};
use avrs_proto::Hash32;
use std::collections::HashSet;

impl Driver {
    /// Host: removes the members the revocation list revokes, matched
    /// again whenever the list or the roster changes.
    pub(super) fn remove_revoked(&mut self) {
        let version = *self.revocation_changes.borrow_and_update();
        let mut approvals = lock(&self.cluster.approvals);
        if self.revocations_seen == Some(version) && !approvals.changed {
            return;
        }
        self.revocations_seen = Some(version);
        let authorizer = &self.context.authorizer;
        let removed = authorizer.with_revocations(|list| approvals.apply_revocations(list));
        drop(approvals);
        for Removal { member, revoked } in removed {
            let why = AuthError::Revoked(revoked.unwrap_or_default());
            tracing::warn!(member = %member.to_hex(), %why, "cluster: member removed: revoked");
            authorizer.audit(AuditEvent {
                event: "cluster_member_removed",
                subject: Some(member.to_hex()),
                action: Some("MEMBER_REMOVE".into()),
                result: "ok",
                reason: Some(why.to_string()),
                ..AuditEvent::default()
            });
        }
    }

    /// Host: members removed (by cluster control or a revocation) are cut
    /// off now.
    pub(super) fn cut_off_removed(&mut self) {
        let removals = lock(&self.cluster.approvals).take_removals();
        for Removal { member, revoked } in removals {
            let why = AuthError::Revoked(revoked.unwrap_or_else(|| membership(&member)));
            self.cut_off(member, why);
        }
    }

    /// Member: a complete roster is the whole cluster, so a member it no
    /// longer names was removed by the host: refused from now on here too,
    /// as is one whose id this node's revocation list revokes.
    pub(super) fn forget_removed(
        &mut self,
        entries: &[RosterEntry],
        revoked_here: &HashSet<Hash32>,
    ) {
        let complete = entries.len() < wire::MAX_ROSTER;
        let listed: HashSet<Hash32> = entries.iter().map(|e| e.member.key).collect();
        let gone: Vec<(Hash32, AuthError)> = self
            .membership
            .auth_mut()
            .approved_ids()
            .filter(|id| **id != self.me.key)
            .filter_map(|id| {
                let why = if revoked_here.contains(id) {
                    format!("member {}", id.to_hex())
                } else if complete && !listed.contains(id) {
                    membership(id)
                } else {
                    return None;
                };
                Some((*id, AuthError::Revoked(why)))
            })
            .collect();
        for (id, why) in gone {
            self.cut_off(id, why);
        }
    }

    /// Members of `entries` whose id this node's revocation list revokes;
    /// never the host (`host`) or this node.
    pub(super) fn revoked_here(&self, entries: &[RosterEntry], host: Hash32) -> HashSet<Hash32> {
        self.context.authorizer.with_revocations(|list| {
            if list.is_empty() {
                return HashSet::new();
            }
            entries
                .iter()
                .map(|e| e.member.key)
                .filter(|id| *id != host && *id != self.me.key)
                .filter(|id| list.contains(RevokedKind::Sub, &id.to_hex()))
                .collect()
        })
    }

    /// Whether this node's revocation list revokes member `id`.
    pub(super) fn id_revoked(&self, id: &Hash32) -> bool {
        let member = id.to_hex();
        let authorizer = &self.context.authorizer;
        authorizer.with_revocations(|list| list.contains(RevokedKind::Sub, &member))
    }

    /// `member`'s gossip is refused from now on, it is no relay child or
    /// parent of ours, its native sessions here close with `why` and a
    /// parked one of them is dropped.
    fn cut_off(&mut self, member: Hash32, why: AuthError) {
        let now = self.now();
        let known = self.membership.remove(&member, now);
        self.cluster.routes.member_down(member);
        tracing::info!(member = %member.to_hex(), known, %why, "cluster: member removed");
        // A key its parked session held must open nothing sent from now on.
        for content in self.context.native_sessions.cut_off(member, why) {
            if let Err(err) = self.context.content_keys.rotate(content) {
                tracing::error!(%err, "cannot rotate a content key");
            }
        }
    }
}

/// Why a member removed without a revocation is cut off.
fn membership(member: &Hash32) -> String {
    format!("cluster membership of {}", member.to_hex())
}
