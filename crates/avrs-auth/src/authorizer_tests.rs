use super::*;
use crate::policy::{Cidr, Effect};
use crate::token::TokenRole;
use crate::token::tests::{NOW, claims, ed_keys};

fn peer(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

fn with_tokens(publish: PublishMode, play: PlayMode) -> Authorizer {
    let mut auth = Authorizer::embedded(vec![], Some("c0ffee".into()));
    auth.publish = publish;
    auth.play = play;
    auth.keys = ed_keys(1);
    auth
}

fn token(auth: &Authorizer, role: TokenRole, content: &str, jti: &str) -> String {
    let mut c = claims(role, content);
    c.jti = jti.into();
    auth.keys.issue(&c).unwrap()
}

#[test]
fn a_config_file_node_refuses_loopback_publishers_without_a_token() {
    let auth = with_tokens(PublishMode::Token, PlayMode::Open);
    let local = peer("127.0.0.1:1");
    let err = auth
        .authorize_publish(local, "live/a", Credential::None, NOW)
        .unwrap_err();
    assert!(err.to_string().contains("?token="), "{err}");
    let t = token(&auth, TokenRole::Publisher, "live/a", "p1");
    let grant = auth
        .authorize_publish(local, "live/a", Credential::Token(&t), NOW)
        .unwrap();
    assert_eq!((grant.via, grant.subject.as_str()), (Via::Token, "alice"));
    // The stream key still works, a wrong one does not.
    assert!(
        auth.authorize_publish(local, "live/a", Credential::StreamKey("c0ffee"), NOW)
            .is_ok()
    );
    assert!(matches!(
        auth.authorize_publish(local, "live/a", Credential::StreamKey("c0ffef"), NOW),
        Err(AuthError::WrongStreamKey(_))
    ));
    // A viewer token does not publish.
    let v = token(&auth, TokenRole::Viewer, "live/a", "v1");
    assert!(matches!(
        auth.authorize_publish(local, "live/a", Credential::Token(&v), NOW),
        Err(AuthError::Forbidden { .. })
    ));
}

#[test]
fn the_embedded_node_keeps_loopback_open() {
    let auth = Authorizer::embedded(vec![], None);
    assert!(
        auth.authorize_publish(peer("127.0.0.1:1"), "live/a", Credential::None, NOW)
            .is_ok()
    );
    assert!(
        auth.authorize_publish(peer("[::1]:1"), "live/a", Credential::None, NOW)
            .is_ok()
    );
    assert!(
        auth.authorize_publish(peer("10.0.0.1:1"), "live/a", Credential::None, NOW)
            .is_err()
    );
    assert!(
        auth.authorize_play("10.0.0.1".parse().unwrap(), "live/a", Credential::None, NOW)
            .is_ok()
    );
}

#[test]
fn play_needs_a_token_when_configured() {
    let auth = with_tokens(PublishMode::Token, PlayMode::Token);
    let ip: IpAddr = "10.0.0.2".parse().unwrap();
    assert!(matches!(
        auth.authorize_play(ip, "live/a", Credential::None, NOW),
        Err(AuthError::Missing(_))
    ));
    let v = token(&auth, TokenRole::Viewer, "live/*", "v1");
    assert!(
        auth.authorize_play(ip, "live/a", Credential::Token(&v), NOW)
            .is_ok()
    );
    assert!(matches!(
        auth.authorize_play(ip, "vod/a", Credential::Token(&v), NOW),
        Err(AuthError::WrongContent { .. })
    ));
}

#[test]
fn outputs_in_clear_refuse_encrypted_contents() {
    let mut auth = with_tokens(PublishMode::Token, PlayMode::Token);
    auth.encrypt = vec!["live/secret*".into()];
    let ip: IpAddr = "10.0.0.2".parse().unwrap();
    let v = token(&auth, TokenRole::Viewer, "live/*", "v1");
    let refused = auth
        .authorize_clear_play(ip, "live/secret1", Credential::Token(&v), NOW, true)
        .unwrap_err();
    assert!(matches!(refused, AuthError::EncryptedContent(_)));
    assert_eq!(
        refused.retcode(),
        avrs_proto::avrs::RetCode::ContentUnavailable
    );
    assert!(refused.to_string().contains("avrs play"), "{refused}");
    // Native players get it (sealed); other contents play in clear.
    assert!(
        auth.authorize_play(ip, "live/secret1", Credential::Token(&v), NOW)
            .is_ok()
    );
    assert!(
        auth.authorize_clear_play(ip, "live/open", Credential::Token(&v), NOW, false)
            .is_ok()
    );
    // The grant is still checked first for contents in clear.
    assert!(matches!(
        auth.authorize_clear_play(ip, "live/open", Credential::None, NOW, true),
        Err(AuthError::Missing(_))
    ));
}

#[test]
fn revocation_ends_live_grants_and_refuses_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut auth = with_tokens(PublishMode::Token, PlayMode::Token);
    auth.revocation_file = Some(dir.path().join("revoked.txt"));
    let mut changes = auth.changes();
    let ip: IpAddr = "10.0.0.2".parse().unwrap();
    let v = token(&auth, TokenRole::Viewer, "live/a", "v1");
    let grant = auth
        .authorize_play(ip, "live/a", Credential::Token(&v), NOW)
        .unwrap();
    assert!(auth.recheck(&grant, NOW).is_ok());
    assert!(auth.revoke(RevokedKind::Jti, "v1", "admin").unwrap());
    assert!(changes.has_changed().unwrap());
    assert!(matches!(
        auth.recheck(&grant, NOW),
        Err(AuthError::Revoked(_))
    ));
    assert!(matches!(
        auth.authorize_play(ip, "live/a", Credential::Token(&v), NOW),
        Err(AuthError::Revoked(_))
    ));
    // The file holds it; another authorizer reading the file agrees.
    let text = std::fs::read_to_string(dir.path().join("revoked.txt")).unwrap();
    assert!(text.contains("jti v1"), "{text}");
    // Expiry ends a grant too.
    let w = token(&auth, TokenRole::Viewer, "live/a", "w1");
    let grant = auth
        .authorize_play(ip, "live/a", Credential::Token(&w), NOW)
        .unwrap();
    assert!(matches!(
        auth.recheck(&grant, NOW + 700),
        Err(AuthError::Expired(_))
    ));
    changes.mark_unchanged();
}

#[test]
fn a_revocation_file_written_elsewhere_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("revoked.txt");
    let mut auth = with_tokens(PublishMode::Token, PlayMode::Token);
    auth.revocation_file = Some(path.clone());
    assert!(!auth.reload_revocations().unwrap());
    let mut list = Revocations::default();
    list.insert(RevokedKind::Sub, "alice").unwrap();
    list.save(&path).unwrap();
    assert!(auth.reload_revocations().unwrap());
    let v = token(&auth, TokenRole::Viewer, "live/a", "v2");
    assert!(matches!(
        auth.authorize_play("10.0.0.2".parse().unwrap(), "live/a", Credential::Token(&v), NOW),
        Err(AuthError::Revoked(m)) if m.contains("alice")
    ));
}

#[test]
fn policies_apply_to_every_open_and_count_sessions() {
    let auth = with_tokens(PublishMode::Token, PlayMode::Token);
    let mut cap = crate::policy::PolicyRule {
        name: "one-each".into(),
        effect: Effect::Deny,
        actions: vec![],
        content: None,
        roles: vec![],
        subject_attrs: Default::default(),
        cidrs: vec![],
        regions: vec![],
        hours: None,
        days: 0,
        max_concurrent: Some(1),
    };
    let mut lan = cap.clone();
    lan.name = "no-lan".into();
    lan.max_concurrent = None;
    lan.cidrs = vec![Cidr::parse("192.168.0.0/16").unwrap()];
    cap.actions = vec![crate::policy::Action::Play];
    *auth.policies.write().unwrap() = vec![cap, lan];
    let v = token(&auth, TokenRole::Viewer, "live/a", "v1");
    let ip: IpAddr = "10.0.0.2".parse().unwrap();
    let first = auth
        .authorize_play(ip, "live/a", Credential::Token(&v), NOW)
        .unwrap();
    let second = auth.authorize_play(ip, "live/a", Credential::Token(&v), NOW);
    assert!(matches!(second, Err(AuthError::PolicyDenied { ref rule, .. }) if rule == "one-each"));
    drop(first);
    assert!(
        auth.authorize_play(ip, "live/a", Credential::Token(&v), NOW)
            .is_ok()
    );
    let lan_ip: IpAddr = "192.168.3.3".parse().unwrap();
    assert!(matches!(
        auth.authorize_play(lan_ip, "live/a", Credential::Token(&v), NOW),
        Err(AuthError::PolicyDenied { ref rule, .. }) if rule == "no-lan"
    ));
}

#[test]
fn admin_requests_need_role_and_totp() {
    let mut auth = with_tokens(PublishMode::Token, PlayMode::Open);
    let ip: IpAddr = "127.0.0.1".parse().unwrap();
    let op = Operation::AdminRevoke;
    let host = token(&auth, TokenRole::Host, "*", "h1");
    // No TOTP secret configured: the admin API is closed.
    assert!(
        auth.authorize_admin(Some(&host), Some("000000"), op, ip, NOW)
            .is_err()
    );
    auth.totp = Some(Totp::new(&[3; 20]));
    let code = Totp::new(&[3; 20]).code_at(NOW);
    assert!(matches!(
        auth.authorize_admin(Some(&host), None, op, ip, NOW),
        Err(AuthError::Totp(_))
    ));
    assert!(matches!(
        auth.authorize_admin(None, Some(&code), op, ip, NOW),
        Err(AuthError::Missing(_))
    ));
    let viewer = token(&auth, TokenRole::Viewer, "*", "v1");
    assert!(matches!(
        auth.authorize_admin(Some(&viewer), Some(&code), op, ip, NOW),
        Err(AuthError::Forbidden { .. })
    ));
    let operator = token(&auth, TokenRole::Operator, "*", "o1");
    assert!(matches!(
        auth.authorize_admin(
            Some(&operator),
            Some(&code),
            Operation::AdminConfigChange,
            ip,
            NOW
        ),
        Err(AuthError::Forbidden { .. })
    ));
    assert!(
        auth.authorize_admin(Some(&host), Some(&code), op, ip, NOW)
            .is_ok()
    );
    // The same code again is a replay.
    assert!(matches!(
        auth.authorize_admin(Some(&operator), Some(&code), op, ip, NOW),
        Err(AuthError::Totp(_))
    ));
}

#[test]
fn decisions_are_audited_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let mut auth = with_tokens(PublishMode::Token, PlayMode::Token);
    auth.audit = crate::audit::AuditLog::open(&path).unwrap();
    let v = token(&auth, TokenRole::Viewer, "live/a", "v1");
    let ip: IpAddr = "10.0.0.2".parse().unwrap();
    auth.authorize_play(ip, "live/a", Credential::Token(&v), NOW)
        .unwrap();
    let _ = auth.authorize_publish(peer("10.0.0.2:1"), "live/a", Credential::Token(&v), NOW);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&v), "the token itself is never logged");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["result"], "allow");
    assert_eq!(lines[0]["jti"], "v1");
    assert_eq!(lines[1]["result"], "deny");
    assert_eq!(lines[1]["event"], "publish");
}

/// A live grant from a certificate chain ends when any certificate of the
/// chain is revoked, the leaf's issuer included, with the refusal a
/// revoked leaf gets (the same return code), naming the certificate.
#[test]
fn revoking_an_issuer_ends_the_grants_of_the_certificates_it_issued() {
    use crate::cert::tests::{authorizer_with_ca, operator_chain};
    use avrs_proto::avrs::{RetCode, Roles};
    let (ca, chain) = operator_chain(Roles::OPERATOR, Roles::SERVER);
    let (leaf, operator) = (chain.leaf(), &chain.certificates()[1]);
    let granted = |auth: &Authorizer| {
        auth.check_certificate(&chain.to_bytes(), Operation::SessionContentAddOut, NOW)
            .unwrap()
    };
    let cases = [
        (
            RevokedKind::Serial,
            operator.serial_hex(),
            "issuer certificate",
        ),
        (RevokedKind::Sub, operator.member_id().to_hex(), "issuer"),
        (RevokedKind::Serial, leaf.serial_hex(), "certificate"),
        (RevokedKind::Sub, leaf.member_id().to_hex(), "subject"),
    ];
    for (kind, value, named) in cases {
        let dir = tempfile::tempdir().unwrap();
        let auth = authorizer_with_ca(&ca, dir.path());
        let grant = granted(&auth);
        assert!(auth.recheck(&grant, NOW).is_ok());
        // An unrelated revocation changes nothing.
        auth.revoke(RevokedKind::Serial, &"0f".repeat(16), "admin")
            .unwrap();
        assert!(auth.recheck(&grant, NOW).is_ok());
        auth.revoke(kind, &value, "admin").unwrap();
        let ended = auth.recheck(&grant, NOW).unwrap_err();
        assert!(matches!(ended, AuthError::Revoked(_)), "{ended:?}");
        assert_eq!(ended.retcode(), RetCode::MemberSecurityIssue);
        let text = ended.to_string();
        assert!(
            text.starts_with(named) && text.contains(&value) && text.ends_with("is revoked"),
            "{kind:?} {value}: {text}"
        );
    }
}
