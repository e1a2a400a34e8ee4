use super::*;

// 2023-11-14 22:13:20 UTC, a Tuesday.
const NOW: u64 = 1_700_000_000;

fn rule(name: &str, effect: Effect) -> PolicyRule {
    PolicyRule {
        name: name.into(),
        effect,
        actions: vec![],
        content: None,
        roles: vec![],
        subject_attrs: BTreeMap::new(),
        cidrs: vec![],
        regions: vec![],
        hours: None,
        days: 0,
        max_concurrent: None,
    }
}

fn request<'a>(attrs: &'a BTreeMap<String, String>, peer: &str) -> PolicyRequest<'a> {
    PolicyRequest {
        action: Action::Play,
        content: "live/a",
        role: Some(TokenRole::Viewer),
        attrs,
        peer: peer.parse().unwrap(),
        now: NOW,
        open_sessions: 0,
    }
}

#[test]
fn cidrs_match_their_ranges() {
    let net = Cidr::parse("10.1.0.0/16").unwrap();
    assert!(net.contains("10.1.200.3".parse().unwrap()));
    assert!(!net.contains("10.2.0.1".parse().unwrap()));
    assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
    assert!(!net.contains("2001:db8::1".parse().unwrap()));
    assert!(
        Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap())
    );
    assert!(
        Cidr::parse("2001:db8::/32")
            .unwrap()
            .contains("2001:db8:1::1".parse().unwrap())
    );
    assert!(
        Cidr::parse("1.2.3.4")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap())
    );
    for bad in ["10.0.0.0/33", "::/129", "x/8", "10.0.0/8", ""] {
        assert!(Cidr::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn deny_overrides_allow_and_names_the_rule() {
    let attrs = BTreeMap::new();
    let mut deny = rule("block-lan", Effect::Deny);
    deny.cidrs = vec![Cidr::parse("192.168.0.0/16").unwrap()];
    let allow = rule("everyone", Effect::Allow);
    let rules = [allow, deny];
    let d = evaluate(&rules, &request(&attrs, "192.168.1.5"));
    assert!(!d.allowed);
    assert_eq!(d.rule.as_deref(), Some("block-lan"));
    let d = evaluate(&rules, &request(&attrs, "10.0.0.1"));
    assert!(d.allowed);
    assert_eq!(d.rule.as_deref(), Some("everyone"));
}

#[test]
fn allow_rules_for_an_action_must_match() {
    let eu = BTreeMap::from([("region".to_owned(), "eu".to_owned())]);
    let us = BTreeMap::from([("region".to_owned(), "us".to_owned())]);
    let mut only_eu = rule("eu-only", Effect::Allow);
    only_eu.actions = vec![Action::Play];
    only_eu.regions = vec!["eu".into()];
    let rules = [only_eu];
    assert!(evaluate(&rules, &request(&eu, "1.1.1.1")).allowed);
    let d = evaluate(&rules, &request(&us, "1.1.1.1"));
    assert!(!d.allowed && d.reason.contains("no allow rule"), "{d:?}");
    // Publishing is not covered by any allow rule: the credential decides.
    let mut publish = request(&us, "1.1.1.1");
    publish.action = Action::Publish;
    assert!(evaluate(&rules, &publish).allowed);
}

#[test]
fn time_windows_use_utc_hours_and_days() {
    let attrs = BTreeMap::new();
    let mut office = rule("office-hours", Effect::Allow);
    office.hours = Some((8, 18));
    assert!(!evaluate(&[office.clone()], &request(&attrs, "1.1.1.1")).allowed);
    office.hours = Some((22, 6));
    assert!(evaluate(&[office.clone()], &request(&attrs, "1.1.1.1")).allowed);
    office.days = 1 << 2; // Tuesday
    assert!(evaluate(&[office.clone()], &request(&attrs, "1.1.1.1")).allowed);
    office.days = 1 << 3;
    assert!(!evaluate(&[office], &request(&attrs, "1.1.1.1")).allowed);
}

#[test]
fn concurrent_sessions_are_capped() {
    let attrs = BTreeMap::new();
    let mut cap = rule("two-streams", Effect::Deny);
    cap.max_concurrent = Some(2);
    let mut r = request(&attrs, "1.1.1.1");
    r.open_sessions = 1;
    assert!(evaluate(&[cap.clone()], &r).allowed);
    r.open_sessions = 2;
    let d = evaluate(&[cap], &r);
    assert!(!d.allowed && d.reason.contains("at most 2"), "{d:?}");
}

#[test]
fn subject_attributes_roles_and_content_must_all_hold() {
    let attrs = BTreeMap::from([("tier".to_owned(), "gold".to_owned())]);
    let mut gold = rule("gold-premium", Effect::Allow);
    gold.content = Some("live/premium/*".into());
    gold.subject_attrs = BTreeMap::from([("tier".to_owned(), "gold".to_owned())]);
    gold.roles = vec![TokenRole::Viewer];
    let mut r = request(&attrs, "1.1.1.1");
    r.content = "live/premium/x";
    assert!(gold.matches(&r));
    r.role = Some(TokenRole::Publisher);
    assert!(!gold.matches(&r));
    r.role = Some(TokenRole::Viewer);
    r.content = "live/free";
    assert!(!gold.matches(&r));
}
