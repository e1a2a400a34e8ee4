//! Policies set through the admin API: applied at once, kept in
//! `policy_file` across restarts, config policies untouchable.

use avrs_auth::authorizer_policies::PolicyChangeError;
use avrs_auth::{AuthConfig, AuthError, Authorizer, Credential};
use std::collections::BTreeMap;
use std::net::IpAddr;

fn load(dir: &std::path::Path) -> Authorizer {
    let text = format!(
        "[avrs]\ndata_dir = {}\n[auth]\npublish = open\nplay = open\naudit_log = off\n\
         [policy.office]\neffect = deny\nactions = publish\ncidr = 192.168.0.0/16\n",
        dir.display()
    );
    let config = avrs_config::Config::from_str_named(&text, "avrs.ini").unwrap();
    let auth = AuthConfig::from_config(&config, true).unwrap();
    Authorizer::load(&auth, None).unwrap()
}

fn entries(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn play(auth: &Authorizer, ip: &str) -> Result<(), AuthError> {
    let ip: IpAddr = ip.parse().unwrap();
    let now = avrs_auth::unix_now();
    auth.authorize_play(ip, "live/cam", Credential::None, now)
        .map(drop)
}

#[test]
fn a_policy_set_through_the_api_applies_at_once_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let auth = load(dir.path());
    let changes = auth.changes();
    assert!(play(&auth, "10.1.2.3").is_ok());

    let rule = entries(&[
        ("effect", "deny"),
        ("actions", "play"),
        ("cidr", "10.0.0.0/8"),
    ]);
    assert!(
        auth.put_policy("no-ten", rule.clone(), "admin").unwrap(),
        "new"
    );
    assert!(changes.has_changed().unwrap(), "live sessions are told");
    let refused = play(&auth, "10.1.2.3").unwrap_err();
    assert!(matches!(refused, AuthError::PolicyDenied { ref rule, .. } if rule == "no-ten"));
    assert!(
        play(&auth, "172.16.0.1").is_ok(),
        "other addresses still play"
    );

    let list = auth.policy_list();
    let names: Vec<_> = list.iter().map(|p| (p.name.as_str(), p.source)).collect();
    assert_eq!(names, [("office", "config"), ("no-ten", "api")]);
    assert_eq!(list[1].rule, rule);

    // A restart reads it back from DATA_DIR/policies.ini.
    drop(auth);
    let auth = load(dir.path());
    assert!(play(&auth, "10.1.2.3").is_err(), "kept across a restart");
    auth.delete_policy("no-ten", "admin").unwrap();
    assert!(play(&auth, "10.1.2.3").is_ok());
    let auth = load(dir.path());
    assert!(play(&auth, "10.1.2.3").is_ok(), "the removal is kept too");
}

#[test]
fn config_policies_and_bad_rules_are_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let auth = load(dir.path());
    let rule = entries(&[("effect", "allow")]);
    let err = auth.put_policy("office", rule, "admin").unwrap_err();
    assert!(matches!(err, PolicyChangeError::FromConfig(_)), "{err}");
    let err = auth.delete_policy("office", "admin").unwrap_err();
    assert!(matches!(err, PolicyChangeError::FromConfig(_)), "{err}");
    let err = auth.delete_policy("nothing", "admin").unwrap_err();
    assert!(matches!(err, PolicyChangeError::NotFound(_)), "{err}");
    let bad = entries(&[("effect", "deny"), ("hours", "25-3")]);
    let err = auth.put_policy("late", bad, "admin").unwrap_err();
    assert!(err.to_string().contains("UTC hours"), "{err}");
    assert_eq!(auth.policy_list().len(), 1, "only the config policy");
    assert!(!dir.path().join("policies.ini").exists(), "nothing written");
}
