//! The playlist checker: what it reads, and one broken playlist per rule.

use avrs_media::hls::{
    PlaylistReport, Rule, check_continuity, check_media_playlist, inspect_media_playlist,
};

const GOOD: &str = "\
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5
#EXT-X-PART-INF:PART-TARGET=0.5
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-DISCONTINUITY-SEQUENCE:3
#EXT-X-MAP:URI=\"init0.mp4\"
#EXTINF:2.0,
seg10.m4s
#EXT-X-PART:DURATION=0.5,URI=\"part4.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI=\"part5.m4s\"
#EXT-X-PART:DURATION=0.5,URI=\"part6.m4s\"
#EXT-X-PART:DURATION=0.5,URI=\"part7.m4s\"
#EXTINF:2.0,
seg11.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI=\"init1.mp4\"
#EXT-X-PART:DURATION=0.5,URI=\"part8.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.45,URI=\"part9.m4s\"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part10.m4s\"
";

fn rules(text: &str) -> Vec<Rule> {
    inspect_media_playlist(text)
        .1
        .iter()
        .map(|v| v.rule)
        .collect()
}

/// `GOOD` with `from` replaced by `to`; `from` must occur.
fn edit(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

fn assert_breaks(text: &str, rule: Rule) {
    let found = rules(text);
    assert!(
        found.contains(&rule),
        "expected {rule:?}, found {found:?} in\n{text}"
    );
}

#[test]
fn reads_a_good_playlist() {
    let report = check_media_playlist(GOOD).unwrap();
    assert_eq!(report.version, Some(6));
    assert_eq!(report.target_duration, Some(2));
    assert_eq!(report.media_sequence, 10);
    assert_eq!(report.part_target, Some(0.5));
    let control = report.server_control.clone().unwrap();
    assert!(control.can_block_reload);
    assert_eq!(control.part_hold_back, Some(1.5));
    assert_eq!(report.segments.len(), 2);
    let second = &report.segments[1];
    assert_eq!(
        (second.msn, second.uri.as_str(), second.duration),
        (11, "seg11.m4s", 2.0)
    );
    assert_eq!(second.parts.len(), 4);
    assert_eq!(second.parts[3].index, 3);
    assert_eq!(report.segments[0].discontinuity_number, 3);
    assert_eq!(report.open_msn(), 12);
    assert_eq!(report.open_parts[0].msn, 12);
    assert_eq!(report.open_parts[0].map_uri.as_deref(), Some("init1.mp4"));
    assert_eq!(report.last_part(), Some((12, 1)));
    assert_eq!(report.last_msn(), Some(11));
    assert_eq!(report.preload_hints[0].uri, "part10.m4s");
    assert_eq!(report.parts().count(), 6);
    assert_eq!(report.duration(), 4.0);
    assert!(!report.ended);
}

#[test]
fn crlf_comments_blank_lines_and_unknown_tags_are_fine() {
    let text = GOOD.replace('\n', "\r\n").replacen(
        "#EXT-X-VERSION:6",
        "#EXT-X-VERSION:6\r\n# a comment\r\n\r\n#EXT-X-FUTURE-TAG:X=1",
        1,
    );
    let report = check_media_playlist(&text).unwrap();
    assert_eq!(report.segments.len(), 2);
}

#[test]
fn header_and_characters() {
    assert_breaks(&GOOD.replacen("#EXTM3U\n", "", 1), Rule::MissingHeader);
    assert_breaks(&format!("\u{feff}{GOOD}"), Rule::MissingHeader);
    assert_breaks(&edit("seg10.m4s", "seg10.m4s "), Rule::BadCharacter);
    assert_breaks(&edit("seg10.m4s", "seg\u{1}10.m4s"), Rule::BadCharacter);
    assert_breaks(
        &edit("#EXT-X-VERSION:6", "#EXT-X-VERSION:6\n#EXTM3U"),
        Rule::DuplicateTag,
    );
}

#[test]
fn values_must_parse() {
    for (from, to) in [
        ("#EXT-X-VERSION:6", "#EXT-X-VERSION:six"),
        ("#EXT-X-TARGETDURATION:2", "#EXT-X-TARGETDURATION:0"),
        ("#EXT-X-MEDIA-SEQUENCE:10", "#EXT-X-MEDIA-SEQUENCE:-1"),
        (
            "#EXT-X-DISCONTINUITY-SEQUENCE:3",
            "#EXT-X-DISCONTINUITY-SEQUENCE",
        ),
        ("#EXTINF:2.0,\nseg10", "#EXTINF:2.0\nseg10"),
        ("#EXTINF:2.0,\nseg10", "#EXTINF:2s,\nseg10"),
        ("PART-TARGET=0.5", "PART-TARGET=\"0.5\""),
        (
            "#EXT-X-PART-INF:PART-TARGET=0.5",
            "#EXT-X-PART-INF:TARGET=0.5",
        ),
        ("DURATION=0.5,URI=\"part5.m4s\"", "URI=\"part5.m4s\""),
        ("URI=\"part5.m4s\"", "URI=part5.m4s"),
        ("TYPE=PART,", ""),
        (
            "#EXT-X-MAP:URI=\"init0.mp4\"",
            "#EXT-X-MAP:URI=\"init0.mp4\",URI=\"x\"",
        ),
        ("CAN-BLOCK-RELOAD=YES", "CAN-BLOCK-RELOAD=\"YES\""),
    ] {
        assert_breaks(&edit(from, to), Rule::BadValue);
    }
    assert_breaks(
        &format!("{GOOD}#EXT-X-PLAYLIST-TYPE:LIVE\n"),
        Rule::BadValue,
    );
}

#[test]
fn once_only_tags() {
    for tag in [
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-PART-INF:PART-TARGET=0.5",
        "#EXT-X-VERSION:6",
    ] {
        assert_breaks(&edit(tag, &format!("{tag}\n{tag}")), Rule::DuplicateTag);
    }
    assert_breaks(
        &format!("{GOOD}#EXT-X-ENDLIST\n#EXT-X-ENDLIST\n"),
        Rule::DuplicateTag,
    );
}

#[test]
fn multivariant_tags_do_not_belong() {
    assert_breaks(
        &format!("{GOOD}#EXT-X-STREAM-INF:BANDWIDTH=1\nx.m3u8\n"),
        Rule::MultivariantTag,
    );
}

#[test]
fn target_duration_is_required_and_bounds_segments() {
    assert_breaks(
        &edit("#EXT-X-TARGETDURATION:2\n", ""),
        Rule::MissingTargetDuration,
    );
    // 2.5 rounds to 3; 2.49999 rounds to 2.
    assert_breaks(
        &edit("#EXTINF:2.0,\nseg10", "#EXTINF:2.5,\nseg10"),
        Rule::SegmentOverTarget,
    );
    assert!(
        !rules(&edit("#EXTINF:2.0,\nseg10", "#EXTINF:2.49999,\nseg10"))
            .contains(&Rule::SegmentOverTarget)
    );
}

#[test]
fn version_must_cover_what_is_used() {
    assert_breaks(
        &edit("#EXT-X-VERSION:6", "#EXT-X-VERSION:5"),
        Rule::VersionTooLow,
    );
    assert_breaks(&edit("#EXT-X-VERSION:6\n", ""), Rule::VersionTooLow);
    let plain = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n";
    assert!(
        check_media_playlist(plain).is_err(),
        "no map for what we expect to be fMP4"
    );
    assert!(
        !rules(plain).contains(&Rule::VersionTooLow),
        "integer EXTINF needs no version"
    );
    let float = "#EXTM3U\n#EXT-X-VERSION:2\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.5,\na.ts\n";
    assert_breaks(float, Rule::VersionTooLow);
    assert_breaks(
        &format!("{GOOD}#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n"),
        Rule::VersionTooLow,
    );
    let ranged = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-BYTERANGE:10@0\n#EXTINF:1,\na.ts\n";
    assert_breaks(ranged, Rule::VersionTooLow);
}

#[test]
fn sequence_tags_go_before_media() {
    let moved = edit("#EXT-X-MEDIA-SEQUENCE:10\n", "").replacen(
        "seg10.m4s\n",
        "seg10.m4s\n#EXT-X-MEDIA-SEQUENCE:10\n",
        1,
    );
    assert_breaks(&moved, Rule::TagOutOfPlace);
    let after_discontinuity = edit(
        "#EXT-X-DISCONTINUITY-SEQUENCE:3\n",
        "#EXT-X-DISCONTINUITY\n#EXT-X-DISCONTINUITY-SEQUENCE:3\n",
    );
    assert_breaks(&after_discontinuity, Rule::TagOutOfPlace);
}

#[test]
fn extinf_and_uri_come_in_pairs() {
    assert_breaks(&edit("seg10.m4s\n", ""), Rule::OrphanLine);
    assert_breaks(
        &edit("#EXTINF:2.0,\nseg10.m4s\n", "seg10.m4s\n"),
        Rule::OrphanLine,
    );
    assert_breaks(&format!("{GOOD}#EXTINF:1.0,\n"), Rule::OrphanLine);
}

#[test]
fn part_rules() {
    let no_inf = edit("#EXT-X-PART-INF:PART-TARGET=0.5\n", "");
    assert_breaks(&no_inf, Rule::MissingPartInf);
    assert_breaks(
        &edit(
            "DURATION=0.5,URI=\"part5.m4s\"",
            "DURATION=0.50002,URI=\"part5.m4s\"",
        ),
        Rule::PartOverTarget,
    );
    assert!(
        check_media_playlist(&edit(
            "DURATION=0.5,URI=\"part5.m4s\"",
            "DURATION=0.500004,URI=\"part5.m4s\""
        ))
        .is_ok(),
        "printing room"
    );
    // Under 85 %: fine for the independent first part and the last part
    // of a segment, not in the middle.
    let short_middle = edit(
        "DURATION=0.5,URI=\"part5.m4s\"",
        "DURATION=0.4,URI=\"part5.m4s\"",
    )
    .replacen(
        "DURATION=0.5,URI=\"part6.m4s\"",
        "DURATION=0.6,URI=\"part6.m4s\"",
        1,
    );
    assert_breaks(&short_middle, Rule::PartUnderTarget);
    let short_first = edit(
        "DURATION=0.5,URI=\"part4.m4s\"",
        "DURATION=0.1,URI=\"part4.m4s\"",
    )
    .replacen("#EXTINF:2.0,\nseg11", "#EXTINF:1.6,\nseg11", 1);
    check_media_playlist(&short_first).unwrap();
    let short_last = edit(
        "DURATION=0.5,URI=\"part7.m4s\"",
        "DURATION=0.1,URI=\"part7.m4s\"",
    )
    .replacen("#EXTINF:2.0,\nseg11", "#EXTINF:1.6,\nseg11", 1);
    check_media_playlist(&short_last).unwrap();
    // The open segment's last part may still end its segment.
    check_media_playlist(&edit(
        "DURATION=0.45,URI=\"part9",
        "DURATION=0.1,URI=\"part9",
    ))
    .unwrap();
}

#[test]
fn parts_add_up_to_their_segment() {
    assert_breaks(
        &edit("#EXTINF:2.0,\nseg11", "#EXTINF:1.9,\nseg11"),
        Rule::PartsMismatchSegment,
    );
    // The first segment listing parts may have lost its oldest ones.
    let trimmed = edit(
        "#EXT-X-PART:DURATION=0.5,URI=\"part4.m4s\",INDEPENDENT=YES\n",
        "",
    );
    check_media_playlist(&trimmed).unwrap();
    let two_segments = GOOD.replacen(
        "#EXTINF:2.0,\nseg10.m4s\n",
        "#EXT-X-PART:DURATION=0.5,URI=\"part3.m4s\",INDEPENDENT=YES\n#EXTINF:2.0,\nseg10.m4s\n",
        1,
    );
    let found = rules(&two_segments);
    assert!(
        !found.contains(&Rule::PartsMismatchSegment),
        "first listed segment spared: {found:?}"
    );
    let broken_second = two_segments.replacen(
        "DURATION=0.5,URI=\"part5.m4s\"",
        "DURATION=0.4,URI=\"part5.m4s\"",
        1,
    );
    assert_breaks(&broken_second, Rule::PartsMismatchSegment);
}

#[test]
fn hold_backs() {
    assert_breaks(&edit(",PART-HOLD-BACK=1.5", ""), Rule::PartHoldBack);
    assert_breaks(
        &edit("PART-HOLD-BACK=1.5", "PART-HOLD-BACK=0.9"),
        Rule::PartHoldBack,
    );
    check_media_playlist(&edit("PART-HOLD-BACK=1.5", "PART-HOLD-BACK=1.0")).unwrap();
    assert_breaks(
        &edit("PART-HOLD-BACK=1.5", "PART-HOLD-BACK=1.5,HOLD-BACK=5.9"),
        Rule::HoldBack,
    );
    assert_breaks(
        &edit(
            "PART-HOLD-BACK=1.5",
            "PART-HOLD-BACK=1.5,CAN-SKIP-UNTIL=11.0",
        ),
        Rule::HoldBack,
    );
    check_media_playlist(&edit(
        "PART-HOLD-BACK=1.5",
        "PART-HOLD-BACK=1.5,HOLD-BACK=6,CAN-SKIP-UNTIL=12",
    ))
    .unwrap();
}

#[test]
fn maps_come_first_and_before_parts() {
    assert_breaks(
        &edit("#EXT-X-MAP:URI=\"init0.mp4\"\n", ""),
        Rule::MissingMap,
    );
    let late_map = edit("#EXT-X-MAP:URI=\"init1.mp4\"\n", "").replacen(
        "#EXT-X-PART:DURATION=0.45",
        "#EXT-X-MAP:URI=\"init1.mp4\"\n#EXT-X-PART:DURATION=0.45",
        1,
    );
    assert_breaks(&late_map, Rule::TagAfterParts);
    let late_discontinuity = edit("#EXT-X-DISCONTINUITY\n", "").replacen(
        "#EXT-X-PART:DURATION=0.45",
        "#EXT-X-DISCONTINUITY\n#EXT-X-PART:DURATION=0.45",
        1,
    );
    assert_breaks(&late_discontinuity, Rule::TagAfterParts);
}

#[test]
fn preload_hints() {
    assert_breaks(&format!("{GOOD}#EXT-X-ENDLIST\n"), Rule::PreloadHint);
    assert_breaks(
        &edit("URI=\"part10.m4s\"", "URI=\"part9.m4s\""),
        Rule::PreloadHint,
    );
    assert_breaks(
        &edit("URI=\"part10.m4s\"", "URI=\"part11.m4s\""),
        Rule::PreloadHint,
    );
    assert_breaks(
        &format!("{GOOD}#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part10.m4s\"\n"),
        Rule::PreloadHint,
    );
    // Hints outside our scheme are only checked for being new.
    check_media_playlist(&edit("URI=\"part10.m4s\"", "URI=\"next.mp4\"")).unwrap();
    check_media_playlist(&format!(
        "{GOOD}#EXT-X-PRELOAD-HINT:TYPE=MAP,URI=\"init2.mp4\"\n"
    ))
    .unwrap();
}

#[test]
fn uris_are_unique_and_follow_our_scheme() {
    assert_breaks(&edit("seg11.m4s", "seg10.m4s"), Rule::DuplicateUri);
    assert_breaks(
        &edit("URI=\"part5.m4s\"", "URI=\"part4.m4s\""),
        Rule::DuplicateUri,
    );
    assert_breaks(&edit("seg11.m4s", "seg12.m4s"), Rule::NamingScheme);
    assert_breaks(
        &edit("URI=\"part6.m4s\"", "URI=\"part16.m4s\""),
        Rule::NamingScheme,
    );
    check_media_playlist(&edit("seg11.m4s", "other.m4s")).unwrap();
}

#[test]
fn vod_needs_endlist() {
    let vod = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI=\"i.mp4\"\n#EXTINF:2.0,\na.m4s\n";
    assert_breaks(vod, Rule::VodWithoutEndlist);
    check_media_playlist(&format!("{vod}#EXT-X-ENDLIST\n")).unwrap();
}

#[test]
fn violations_name_their_lines() {
    let (_, violations) =
        inspect_media_playlist(&edit("#EXTINF:2.0,\nseg10", "#EXTINF:2.5,\nseg10"));
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].line, 10, "the segment's URI line");
    assert!(
        violations[0]
            .to_string()
            .starts_with("line 10: SegmentOverTarget")
    );
}

#[test]
fn violations_are_capped() {
    let text = format!("{GOOD}{}", "nonsense\n".repeat(1000));
    let (_, violations) = inspect_media_playlist(&text);
    assert_eq!(violations.len(), 257);
    assert!(violations[256].detail.contains("more violations"));
}

fn report(text: &str) -> PlaylistReport {
    check_media_playlist(text).unwrap()
}

/// `GOOD` one part later: part 10 published and hinted 11.
fn next_version() -> String {
    GOOD.replacen(
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part10.m4s\"",
        "#EXT-X-PART:DURATION=0.5,URI=\"part10.m4s\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part11.m4s\"",
        1,
    )
}

fn continuity_rules(prev: &str, next: &str) -> Vec<Rule> {
    match check_continuity(&report(prev), &report(next)) {
        Ok(()) => Vec::new(),
        Err(violations) => violations.iter().map(|v| v.rule).collect(),
    }
}

#[test]
fn continuity_accepts_appends_and_removals_from_the_front() {
    check_continuity(&report(GOOD), &report(&next_version())).unwrap();
    check_continuity(&report(GOOD), &report(GOOD)).unwrap();
}

#[test]
fn continuity_catches_every_kind_of_rewrite() {
    let back = GOOD
        .replacen("MEDIA-SEQUENCE:10", "MEDIA-SEQUENCE:9", 1)
        .replacen("seg10.m4s", "seg9.m4s", 1)
        .replacen("seg11.m4s", "seg10.m4s", 1);
    assert!(continuity_rules(GOOD, &back).contains(&Rule::SequenceWentBack));
    let dseq = GOOD.replacen("DISCONTINUITY-SEQUENCE:3", "DISCONTINUITY-SEQUENCE:2", 1);
    assert!(continuity_rules(GOOD, &dseq).contains(&Rule::SequenceWentBack));
    let target = GOOD.replacen("TARGETDURATION:2", "TARGETDURATION:3", 1);
    assert!(continuity_rules(GOOD, &target).contains(&Rule::TargetDurationChanged));
    let renamed = GOOD.replacen("seg11.m4s", "other.m4s", 1);
    assert!(continuity_rules(GOOD, &renamed).contains(&Rule::HistoryChanged));
    let part_changed = GOOD.replacen(
        "DURATION=0.45,URI=\"part9.m4s\"",
        "DURATION=0.4,URI=\"part9.m4s\"",
        1,
    );
    assert!(continuity_rules(GOOD, &part_changed).contains(&Rule::HistoryChanged));
    let shrunk = GOOD.replacen("#EXTINF:2.0,\nseg11.m4s\n", "", 1);
    let shrunk = shrunk.replacen("#EXT-X-PART:DURATION=0.5,URI=\"part4.m4s\",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.5,URI=\"part5.m4s\"\n#EXT-X-PART:DURATION=0.5,URI=\"part6.m4s\"\n#EXT-X-PART:DURATION=0.5,URI=\"part7.m4s\"\n", "", 1);
    assert!(continuity_rules(GOOD, &shrunk).contains(&Rule::HistoryChanged));
    let ended = format!(
        "{}#EXT-X-ENDLIST\n",
        GOOD.replacen("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part10.m4s\"\n", "", 1)
    );
    check_continuity(&report(GOOD), &report(&ended)).unwrap();
    assert!(continuity_rules(&ended, GOOD).contains(&Rule::HistoryChanged));
}

#[test]
fn continuity_keeps_three_target_durations_when_removing() {
    // Removing seg10 leaves 2 s of segments, under 3 x 2 s.
    let removed = GOOD
        .replacen("MEDIA-SEQUENCE:10", "MEDIA-SEQUENCE:11", 1)
        .replacen("#EXTINF:2.0,\nseg10.m4s\n", "", 1);
    assert!(continuity_rules(GOOD, &removed).contains(&Rule::WindowTooShort));
}
