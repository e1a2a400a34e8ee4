use super::*;

fn load(text: &str) -> Result<AuthConfig, AuthError> {
    let config = Config::from_str_named(text, "/etc/avrs/avrs.ini").unwrap();
    AuthConfig::from_config(&config, true)
}

#[test]
fn defaults_depend_on_whether_a_file_was_given() {
    let embedded = AuthConfig::from_config(&Config::default(), false).unwrap();
    assert_eq!(embedded.publish, PublishMode::LoopbackOrToken);
    assert_eq!(embedded.play, PlayMode::Open);
    let from_file = load("[avrs]\n").unwrap();
    assert_eq!(from_file.publish, PublishMode::Token);
    assert_eq!(
        from_file.audit_log,
        Some(PathBuf::from("./avrs-data/audit.log"))
    );
}

#[test]
fn keys_are_read_and_paths_are_relative_to_the_file() {
    let auth = load(
        "[avrs]\n[auth]\npublish = open\nplay = token\ntoken_ed25519_key_file = keys/token.key\n\
         token_issuer = me\naudit_log = off\nrevocation_file = /var/lib/avrs/revoked\n",
    )
    .unwrap();
    assert_eq!(auth.publish, PublishMode::Open);
    assert_eq!(auth.play, PlayMode::Token);
    assert_eq!(
        auth.token_ed25519_key_file,
        Some(PathBuf::from("/etc/avrs/keys/token.key"))
    );
    assert_eq!(auth.token_issuer.as_deref(), Some("me"));
    assert_eq!(auth.audit_log, None);
    assert_eq!(auth.revocation_file, PathBuf::from("/var/lib/avrs/revoked"));
}

#[test]
fn errors_name_file_line_and_key() {
    let err = load("[avrs]\n[auth]\nplay = maybe\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "/etc/avrs/avrs.ini:3: key 'play' in [auth]: expected open or token, got 'maybe'"
    );
    let err = load("[auth]\npubish = open\n").unwrap_err().to_string();
    assert!(
        err.starts_with("/etc/avrs/avrs.ini:2: unknown key 'pubish'"),
        "{err}"
    );
    let err = load("[auth]\ntoken_ed25519_public_key = abcd\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("64 hex digits"), "{err}");
}

#[test]
fn policies_are_parsed_in_file_order() {
    let auth = load(
        "[policy.lan]\neffect = deny\ncidr = 192.168.0.0/16, 10.0.0.0/8\nactions = publish\n\
         [policy.eu]\neffect = allow\nregion = eu\nhours = 8-18\ndays = mon-fri\n\
         subject = tier=gold\nroles = viewer\nmax_concurrent = 3\ncontent = live/*\n",
    )
    .unwrap();
    assert_eq!(auth.policies.len(), 2);
    let (lan, eu) = (&auth.policies[0], &auth.policies[1]);
    assert_eq!(lan.name, "lan");
    assert_eq!(lan.cidrs.len(), 2);
    assert_eq!(lan.actions, vec![Action::Publish]);
    assert_eq!(eu.effect, Effect::Allow);
    assert_eq!(eu.hours, Some((8, 18)));
    assert_eq!(eu.days, 0b0011_1110);
    assert_eq!(eu.subject_attrs["tier"], "gold");
    assert_eq!(eu.max_concurrent, Some(3));
}

#[test]
fn bad_policies_are_refused() {
    for (text, expected) in [
        ("[policy.x]\ncidr = 1.2.3.4/40\n", "address ranges"),
        ("[policy.x]\neffect = maybe\n", "allow or deny"),
        ("[policy.x]\ncidr = 1.2.3.4\n", "needs `effect"),
        ("[policy.x]\neffect = deny\nhours = 25-3\n", "UTC hours"),
        (
            "[policy.x]\neffect = deny\ndays = someday\n",
            "days such as",
        ),
        (
            "[policy.x]\neffect = deny\nactions = fly\n",
            "publish, play",
        ),
        ("[policy.x]\neffect = deny\ncontent = a*b\n", "content name"),
        (
            "[policy.x]\neffect = deny\nmax_concurrent = 0\n",
            "whole number",
        ),
        ("[policy.x]\neffect = deny\nwho = me\n", "unknown key 'who'"),
    ] {
        let err = load(text).unwrap_err().to_string();
        assert!(err.contains(expected), "{text:?}: {err}");
        assert!(err.starts_with("/etc/avrs/avrs.ini:"), "{err}");
    }
}

#[test]
fn encrypted_contents_are_named_by_patterns() {
    let auth = load("[avrs]\n[auth]\nencrypt = live/private/*, live/paid\n").unwrap();
    assert!(auth.encrypts("live/private/cam"));
    assert!(auth.encrypts("live/paid"));
    assert!(!auth.encrypts("live/public"));
    assert!(!load("[avrs]\n").unwrap().encrypts("live/private/cam"));
    let error = load("[avrs]\n[auth]\nencrypt = live/sec*ret\n").unwrap_err();
    assert!(error.to_string().contains("key 'encrypt'"), "{error}");
}
