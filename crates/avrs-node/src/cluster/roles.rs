//! Which member may ask the cluster for what: the RBAC table of
//! `avrs_auth::rbac`, with the refusal every layer answers
//! (`MEMBER_SECURITY_ISSUE`, HTTP 403).

use avrs_auth::AuthError;
use avrs_auth::rbac::{Operation, allowed};
use avrs_proto::avrs::Roles;

/// `Ok` when a member holding `roles` may do `op`; the refusal otherwise.
pub fn check(roles: Roles, op: Operation) -> Result<(), AuthError> {
    if allowed(roles, op) {
        return Ok(());
    }
    Err(AuthError::Forbidden {
        role: roles.to_string(),
        action: op.name().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use avrs_proto::avrs::RetCode;

    fn refused(roles: Roles, op: Operation) -> RetCode {
        check(roles, op).expect_err("refused").retcode()
    }

    #[test]
    fn each_role_is_refused_what_it_may_not_do() {
        let security = RetCode::MemberSecurityIssue;
        for op in [
            Operation::ClusterDestroy,
            Operation::ClusterChange,
            Operation::MemberRoleAssign,
        ] {
            assert_eq!(refused(Roles::OPERATOR, op), security, "{}", op.name());
        }
        assert_eq!(
            refused(Roles::CLIENT, Operation::ClusterContentAdd),
            security
        );
        assert_eq!(
            refused(Roles::SERVER, Operation::MemberRequestApprove),
            security
        );
        assert_eq!(
            refused(Roles::BALANCER, Operation::MemberRequestApprove),
            security
        );
        // What they may do still passes.
        assert!(check(Roles::OPERATOR, Operation::ClusterContentDel).is_ok());
        assert!(check(Roles::SERVER, Operation::ClusterContentAdd).is_ok());
        assert!(check(Roles::HOST, Operation::MemberRequestApprove).is_ok());
        assert!(check(Roles::CLIENT, Operation::BalanceRequest).is_ok());
    }
}
