use super::*;
use proptest::prelude::*;

fn parse(text: &str) -> Result<Document, ConfigError> {
    Document::parse(text.as_bytes(), "t.ini")
}

/// `(key, value, line)` of every entry of the one section in `text`.
fn entries(text: &str) -> Vec<(String, String, usize)> {
    let doc = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(doc.sections.len(), 1, "{text:?}");
    doc.sections[0]
        .entries
        .iter()
        .map(|e| (e.key.clone(), e.value.clone(), e.line))
        .collect()
}

fn one_value(line: &str) -> String {
    let got = entries(&format!("[s]\n{line}\n"));
    assert_eq!(got.len(), 1, "{line:?}");
    got[0].1.clone()
}

#[test]
fn values_are_trimmed_unquoted_and_cut_at_inline_comments() {
    let cases = [
        ("k = v", "v"),
        ("k=v", "v"),
        ("  k\t=\t v  ", "v"),
        ("k = a b", "a b"),
        ("k = 1 # one", "1"),
        ("k = 1 ; one", "1"),
        ("k = 1\t# tab before the comment", "1"),
        ("k = a#b", "a#b"),
        ("k = a;b", "a;b"),
        ("k = # only a comment", ""),
        ("k =", ""),
        ("k = \"\"", ""),
        ("k = \" padded \"", " padded "),
        ("k = \"a # b ; c\"", "a # b ; c"),
        ("k = \"quoted\" # and a comment", "quoted"),
        ("k = \"quoted\"   ", "quoted"),
        ("k = a = b", "a = b"),
        ("k = it's", "it's"),
        ("k = x\"y", "x\"y"),
        ("k = caf\u{e9}", "caf\u{e9}"),
    ];
    for (line, want) in cases {
        assert_eq!(one_value(line), want, "{line:?}");
    }
}

#[test]
fn comments_blank_lines_and_line_numbers() {
    let text =
        "# top comment\n; another\n\n[avrs]\n  # indented comment\nrole = host\n\nport = 1\n";
    let doc = parse(text).unwrap();
    let section = doc.section("avrs").unwrap();
    assert_eq!(section.line, 4);
    assert_eq!(
        entries(text),
        [
            ("role".into(), "host".into(), 6),
            ("port".into(), "1".into(), 8)
        ]
    );
    assert!(doc.section("other").is_none());
}

#[test]
fn crlf_and_bom_are_accepted() {
    let text = "\u{feff}[avrs]\r\nrole = host\r\nname = \"x\"\r\n";
    assert_eq!(
        entries(text),
        [
            ("role".into(), "host".into(), 2),
            ("name".into(), "x".into(), 3)
        ]
    );
    // A BOM anywhere else is text, and not a valid section or key.
    assert!(parse("[avrs]\n\u{feff}k = v\n").is_err());
}

#[test]
fn section_headers() {
    let cases = [
        ("[avrs]", "avrs"),
        ("  [ avrs ]  ", "avrs"),
        ("[avrs] # comment", "avrs"),
        ("[a.b-c_1]", "a.b-c_1"),
    ];
    for (header, name) in cases {
        let doc = parse(header).unwrap();
        assert_eq!(doc.sections[0].name, name, "{header:?}");
    }
    let doc = parse("[a]\n[b]\nk = v\n").unwrap();
    assert_eq!(doc.sections.len(), 2);
    assert!(doc.sections[0].entries.is_empty());
    assert_eq!(doc.section("b").unwrap().entries[0].key, "k");
}

#[test]
fn syntax_errors_name_line_and_expectation() {
    let cases = [
        ("[avrs", None, "a section header closed by ']'"),
        ("[]", None, "a section name made of"),
        ("[a b]", None, "a section name made of"),
        ("[avrs] x", None, "only a comment after the section header"),
        ("[avrs]#x", None, "only a comment after the section header"),
        (
            "just words",
            None,
            "'[section]', 'key = value' or a comment",
        ),
        ("= value", None, "a key name made of"),
        ("max connections = 3", None, "a key name made of"),
        ("k = \"open", Some("k"), "a closing '\"'"),
        (
            "k = \"a\" b",
            Some("k"),
            "only a comment after the closing '\"'",
        ),
        (
            "k = \"a\"#b",
            Some("k"),
            "only a comment after the closing '\"'",
        ),
    ];
    for (bad, key, expected) in cases {
        let text = format!("[s]\n\n{bad}\n");
        let err = parse(&text).unwrap_err();
        let ConfigError::Syntax {
            file,
            line,
            key: got_key,
            expected: got_expected,
            ..
        } = &err
        else {
            panic!("{bad:?}: {err:?}");
        };
        assert_eq!((file.as_str(), *line), ("t.ini", 3), "{bad:?}");
        assert_eq!(got_key.as_deref(), key, "{bad:?}");
        assert!(
            got_expected.starts_with(expected),
            "{bad:?}: {got_expected}"
        );
        assert!(err.to_string().starts_with("t.ini:3: "), "{err}");
    }
}

#[test]
fn syntax_error_message_quotes_the_line_and_key() {
    let err = parse("[s]\nk = \"open\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.ini:2: key 'k': expected a closing '\"' (a quoted value cannot hold '\"'), got '\"open'"
    );
    let err = parse("[s]\nnonsense\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.ini:2: expected '[section]', 'key = value' or a comment, got 'nonsense'"
    );
}

#[test]
fn duplicates_are_errors_naming_both_lines() {
    let err = parse("[avrs]\na = 1\nb = 2\na = 3\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.ini:4: key 'a' appears twice in [avrs]; expected it once (first on line 2)"
    );
    let err = parse("[avrs]\na = 1\n[other]\n[avrs]\n").unwrap_err();
    assert_eq!(
        err,
        ConfigError::DuplicateSection {
            file: "t.ini".into(),
            line: 4,
            section: "avrs".into(),
            first_line: 1
        }
    );
    // The same key in two different sections is fine.
    assert_eq!(parse("[a]\nk = 1\n[b]\nk = 2\n").unwrap().sections.len(), 2);
}

#[test]
fn key_before_any_section_is_an_error() {
    let err = parse("# c\nrole = host\n[avrs]\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.ini:2: key 'role' comes before any section; expected it under [avrs]"
    );
}

#[test]
fn size_limits() {
    let at_limit = vec![b'#'; MAX_FILE_BYTES];
    let lines_ok = at_limit
        .chunks(MAX_LINE_BYTES)
        .flat_map(|c| c.iter().copied().chain([b'\n']))
        .take(MAX_FILE_BYTES)
        .collect::<Vec<_>>();
    assert!(Document::parse(&lines_ok, "t.ini").is_ok());

    let too_big = vec![b'\n'; MAX_FILE_BYTES + 1];
    assert_eq!(
        Document::parse(&too_big, "t.ini").unwrap_err(),
        ConfigError::FileTooLarge {
            file: "t.ini".into(),
            limit: MAX_FILE_BYTES
        }
    );

    let long_line = format!("[s]\nk = {}\n", "x".repeat(MAX_LINE_BYTES));
    assert_eq!(
        parse(&long_line).unwrap_err(),
        ConfigError::LineTooLong {
            file: "t.ini".into(),
            line: 2,
            limit: MAX_LINE_BYTES
        }
    );
    let longest = format!("[s]\nk = {}\n", "x".repeat(MAX_LINE_BYTES - 4));
    assert_eq!(
        one_value(&longest[4..longest.len() - 1]).len(),
        MAX_LINE_BYTES - 4
    );
}

#[test]
fn non_utf8_is_an_error_with_its_line() {
    let err = Document::parse(b"[s]\nk = ok\nk2 = \xff\xfe\n", "t.ini").unwrap_err();
    assert_eq!(
        err,
        ConfigError::NotUtf8 {
            file: "t.ini".into(),
            line: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "t.ini:3: expected UTF-8 text, got bytes that are not UTF-8"
    );
}

#[test]
fn hostile_text_in_messages_is_escaped_and_cut() {
    let err = parse(&format!("[s]\n\u{1b}[2J{}\n", "y".repeat(500))).unwrap_err();
    let message = err.to_string();
    assert!(!message.contains('\u{1b}'), "{message}");
    assert!(message.contains("\\u{1b}"), "{message}");
    assert!(message.len() < 300, "{message}");
}

#[test]
fn quote_if_needed_only_quotes_what_would_not_read_back() {
    let cases = [
        ("plain", "plain"),
        ("a#b", "a#b"),
        ("x\"y", "x\"y"),
        ("", "\"\""),
        (" lead", "\" lead\""),
        ("trail ", "\"trail \""),
        ("a # b", "\"a # b\""),
        ("a ;b", "\"a ;b\""),
        ("#x", "\"#x\""),
        (";x", "\";x\""),
        ("\"x", "\"\"x\""),
    ];
    for (value, written) in cases {
        assert_eq!(quote_if_needed(value), written, "{value:?}");
    }
}

proptest! {
    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Document::parse(&bytes, "t.ini");
    }

    #[test]
    fn any_text_never_panics(text in "[\\[\\]=#; \"a-c\r\n\t\u{feff}\u{e9}]{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn written_values_read_back(value in "[^\"\\r\\n\\p{Cc}]{0,40}") {
        let text = format!("[s]\nk = {}\n", quote_if_needed(&value));
        prop_assert_eq!(one_value(&text[4..text.len() - 1]), value);
    }
}
