//! Revocations on the roster. A member is removed, as MEMBER_REMOVE
//! removes it (kept in `removed`: only a new approval lets it in again),
//! when its member id is revoked (`sub ID`), or when it was admitted by a
//! certificate and any certificate of that certificate's path (its own,
//! or the operator's that issued it) is revoked by serial or member id. A
//! member admitted by its id (members file, approval) has no certificate
//! on record: only a revocation of its id removes it.

use super::{Approvals, Removal};
use avrs_auth::revocation::{Revocations, RevokedKind};
use avrs_proto::Hash32;
use std::collections::BTreeMap;

impl Approvals {
    /// The members (approved, waiting, or listed ahead of time) that
    /// `list` removes, each with what was revoked. Decides only.
    pub fn revoked_by(&self, list: &Revocations) -> Vec<(Hash32, String)> {
        let known = self
            .approved
            .keys()
            .chain(self.pending.keys())
            .chain(&self.preapproved);
        let mut removed = BTreeMap::new();
        for id in known {
            let member = id.to_hex();
            let why = if list.contains(RevokedKind::Sub, &member) {
                Some(format!("member {member}"))
            } else {
                let chain = self.certified.get(id).map_or(&[][..], Vec::as_slice);
                list.revoked_link(chain).map(|link| link.to_string())
            };
            if let Some(why) = why {
                removed.insert(*id, why);
            }
        }
        removed.into_iter().collect()
    }

    /// Removes every member `list` revokes ([`Self::revoked_by`]); each is
    /// also queued for the driver ([`Self::take_removals`]) with why.
    pub fn apply_revocations(&mut self, list: &Revocations) -> Vec<Removal> {
        let removed = self.revoked_by(list);
        for (id, why) in &removed {
            self.take_out(*id, Some(why.clone()));
        }
        removed
            .into_iter()
            .map(|(member, why)| Removal {
                member,
                revoked: Some(why),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{certificate, join};
    use super::*;
    use crate::cluster::roster::JoinOutcome;

    fn revoked(entries: &[(RevokedKind, String)]) -> Revocations {
        let mut list = Revocations::default();
        for (kind, value) in entries {
            list.insert(*kind, value).unwrap();
        }
        list
    }

    /// Three members: `listed` admitted by its id, `direct` by a
    /// certificate the host issued, `issued` by one an operator issued.
    fn roster() -> (Approvals, [Hash32; 3]) {
        let mut approvals = Approvals::default();
        let (listed, direct, issued) = (join(1), join(2), join(3));
        approvals.approve(listed.member.key);
        let outcomes = [
            approvals.on_join(&listed, None),
            approvals.on_join(&direct, Some(&[certificate(20, 2)])),
            approvals.on_join(&issued, Some(&[certificate(30, 3), certificate(40, 4)])),
        ];
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, JoinOutcome::Approved { .. }))
        );
        let ids = [listed, direct, issued].map(|j| j.member.key);
        (approvals, ids)
    }

    #[test]
    fn a_revocation_removes_exactly_the_members_it_names() {
        let (approvals, [listed, direct, issued]) = roster();
        let (leaf, operator) = (certificate(30, 3), certificate(40, 4));
        let removed = |entries: &[(RevokedKind, String)]| -> Vec<Hash32> {
            let list = revoked(entries);
            approvals
                .revoked_by(&list)
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        };
        assert!(removed(&[]).is_empty());
        // Unrelated entries, and a token id equal to a serial.
        let other = certificate(99, 99);
        assert!(
            removed(&[
                (RevokedKind::Serial, other.serial.clone()),
                (RevokedKind::Sub, other.member.clone()),
                (RevokedKind::Jti, leaf.serial.clone()),
            ])
            .is_empty()
        );
        // Each certificate of a member's path removes it, by serial or id.
        assert_eq!(
            removed(&[(RevokedKind::Serial, leaf.serial.clone())]),
            [issued]
        );
        assert_eq!(
            removed(&[(RevokedKind::Serial, operator.serial.clone())]),
            [issued]
        );
        assert_eq!(
            removed(&[(RevokedKind::Sub, operator.member.clone())]),
            [issued]
        );
        let direct_serial = certificate(20, 2).serial;
        assert_eq!(removed(&[(RevokedKind::Serial, direct_serial)]), [direct]);
        // A member admitted by id goes only with its id.
        let mut by_id = removed(&[(RevokedKind::Sub, listed.to_hex())]);
        by_id.sort();
        assert_eq!(by_id, [listed]);
        let mut all = removed(&[
            (RevokedKind::Sub, listed.to_hex()),
            (RevokedKind::Sub, operator.member.clone()),
            (RevokedKind::Sub, direct.to_hex()),
        ]);
        all.sort();
        let mut expected = vec![listed, direct, issued];
        expected.sort();
        assert_eq!(all, expected);
    }

    #[test]
    fn the_reason_names_the_revoked_certificate() {
        let (approvals, [_, _, issued]) = roster();
        let operator = certificate(40, 4);
        let list = revoked(&[(RevokedKind::Serial, operator.serial.clone())]);
        let [(id, why)] = approvals.revoked_by(&list).try_into().unwrap();
        assert_eq!(id, issued);
        assert_eq!(
            why,
            format!(
                "issuer certificate {} (member {})",
                operator.serial, operator.member
            )
        );
    }

    #[test]
    fn applying_removes_and_queues_once_and_waiting_ids_go_too() {
        let (mut approvals, [listed, _, issued]) = roster();
        let waiting = join(5);
        assert!(matches!(
            approvals.on_join(&waiting, None),
            JoinOutcome::Pending { .. }
        ));
        let list = revoked(&[
            (RevokedKind::Serial, certificate(40, 4).serial),
            (RevokedKind::Sub, waiting.member.key.to_hex()),
        ]);
        let applied = approvals.apply_revocations(&list);
        let mut ids: Vec<Hash32> = applied.iter().map(|r| r.member).collect();
        ids.sort();
        let mut expected = vec![issued, waiting.member.key];
        expected.sort();
        assert_eq!(ids, expected);
        assert_eq!(approvals.take_removals(), applied);
        assert_eq!(approvals.roster_roles(&issued), None);
        assert!(approvals.roster_roles(&listed).is_some());
        assert!(!approvals.pending.contains_key(&waiting.member.key));
        // Nothing left to remove; its certificate does not bring it back.
        assert!(approvals.apply_revocations(&list).is_empty());
        let again = join(3);
        let certified = [certificate(31, 3), certificate(41, 4)];
        assert!(matches!(
            approvals.on_join(&again, Some(&certified)),
            JoinOutcome::Pending { .. }
        ));
    }
}
