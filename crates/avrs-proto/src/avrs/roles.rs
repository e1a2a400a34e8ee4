//! Node and member roles: a `u16` mask on the wire (`MEMBER_ROLE`), names in
//! config files (`role = host,server`).

use crate::avrs::labels;
use crate::error::{ProtoError, Result};
use std::fmt;
use std::str::FromStr;

bitflags::bitflags! {
    /// What a node or member may do. A node may hold several roles.
    ///
    /// The wire value `0xFFFF` is [`Roles::ALL`]; any other mask must be made
    /// of defined roles only, so a mask from a newer peer is never silently
    /// narrowed.
    #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct Roles: u16 {
        /// May only join and consume.
        const CLIENT = 0x0001;
        /// Owns and operates the cluster.
        const HOST = 0x0002;
        /// Limited operations: monitoring and upkeep, no config change.
        const OPERATOR = 0x0004;
        /// Serves clients and content.
        const SERVER = 0x0100;
        /// Splits connections and content between servers.
        const BALANCER = 0x0200;
    }
}

/// Role names in mask order, as written by `Display` and read by `parse`.
const NAMES: [(&str, Roles); 5] = [
    ("client", Roles::CLIENT),
    ("host", Roles::HOST),
    ("operator", Roles::OPERATOR),
    ("server", Roles::SERVER),
    ("balancer", Roles::BALANCER),
];

const ALL_NAME: &str = "all";
const NONE_NAME: &str = "none";

impl Roles {
    /// Every role, including those defined later: wire value `0xFFFF`.
    /// (Not the same as [`Roles::all`], which is the union of the roles
    /// defined today, `0x0307`.)
    pub const ALL: Roles = Roles::from_bits_retain(0xFFFF);

    /// Reads a wire mask: `0xFFFF`, or a union of defined roles (0 included).
    pub fn from_mask(mask: u16) -> Result<Self> {
        if mask == Self::ALL.bits() {
            return Ok(Self::ALL);
        }
        Self::from_bits(mask).ok_or(ProtoError::UnknownValue {
            what: labels::ROLE_MASK,
            value: u32::from(mask),
        })
    }

    /// The wire mask.
    pub const fn mask(self) -> u16 {
        self.bits()
    }

    /// Parses config text: role names (any case) separated by commas and/or
    /// spaces, `all`, `none`, or a hex mask such as `0x0102`. Names and masks may be
    /// mixed; the result is their union.
    pub fn parse(text: &str) -> Result<Self, RolesParseError> {
        let mut roles = Roles::empty();
        let mut words = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .peekable();
        if words.peek().is_none() {
            return Err(RolesParseError::Empty);
        }
        for word in words {
            roles |= parse_word(word)?;
        }
        Ok(roles)
    }
}

fn parse_word(word: &str) -> Result<Roles, RolesParseError> {
    let unknown = || RolesParseError::Unknown(word.to_owned());
    if let Some(hex) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        let mask = u16::from_str_radix(hex, 16).map_err(|_| unknown())?;
        return Roles::from_mask(mask).map_err(|_| unknown());
    }
    if word.eq_ignore_ascii_case(ALL_NAME) {
        return Ok(Roles::ALL);
    }
    if word.eq_ignore_ascii_case(NONE_NAME) {
        return Ok(Roles::empty());
    }
    NAMES
        .iter()
        .find(|(name, _)| word.eq_ignore_ascii_case(name))
        .map(|(_, role)| *role)
        .ok_or_else(unknown)
}

/// Why role text could not be read. It names the word at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolesParseError {
    #[error(
        "no role given (expected names such as \"host,server\", \"all\" or a mask such as 0x0102)"
    )]
    Empty,
    #[error(
        "unknown role \"{0}\" (expected client, host, operator, server, balancer, all, none, or a hex mask of those such as 0x0102)"
    )]
    Unknown(String),
}

impl FromStr for Roles {
    type Err = RolesParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for Roles {
    /// Canonical names in mask order, comma separated: `host,server`; `all`
    /// for `0xFFFF`; `none` for the empty mask.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::ALL {
            return f.write_str(ALL_NAME);
        }
        if self.is_empty() {
            return f.write_str(NONE_NAME);
        }
        let mut first = true;
        for (name, role) in NAMES {
            if self.contains(role) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        // from_mask refuses other bits, but from_bits_retain can make them.
        let rest = self.bits() & !Roles::all().bits();
        if rest != 0 {
            write!(f, "{}0x{rest:04X}", if first { "" } else { "," })?;
        }
        Ok(())
    }
}

impl fmt::Debug for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Roles({self}, 0x{:04X})", self.bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn role_masks_are_pinned() {
        let pinned = [
            (Roles::CLIENT, 0x0001),
            (Roles::HOST, 0x0002),
            (Roles::OPERATOR, 0x0004),
            (Roles::SERVER, 0x0100),
            (Roles::BALANCER, 0x0200),
            (Roles::ALL, 0xFFFF),
        ];
        for (role, mask) in pinned {
            assert_eq!(role.mask(), mask);
            assert_eq!(Roles::from_mask(mask).unwrap(), role);
        }
        assert_eq!(Roles::all().mask(), 0x0307);
        assert_eq!(
            (Roles::HOST | Roles::SERVER).mask().to_le_bytes(),
            [0x02, 0x01]
        );
    }

    #[test]
    fn masks_with_undefined_bits_are_refused() {
        for mask in [0x0008u16, 0x0400, 0x8000, 0x0307 | 0x0010, 0xFFFE] {
            assert_eq!(
                Roles::from_mask(mask),
                Err(ProtoError::UnknownValue {
                    what: labels::ROLE_MASK,
                    value: u32::from(mask)
                }),
                "{mask:#06x}"
            );
        }
        assert_eq!(Roles::from_mask(0).unwrap(), Roles::empty());
        assert_eq!(Roles::from_mask(0x0307).unwrap(), Roles::all());
    }

    #[test]
    fn names_parse_in_any_case_and_separator() {
        let host_server = Roles::HOST | Roles::SERVER;
        for text in [
            "host,server",
            "HOST, Server",
            " server host ",
            "host,,server",
            "0x0102",
        ] {
            assert_eq!(text.parse::<Roles>().unwrap(), host_server, "{text:?}");
        }
        assert_eq!(Roles::parse("all").unwrap(), Roles::ALL);
        assert_eq!(Roles::parse("ALL,client").unwrap(), Roles::ALL);
        assert_eq!(Roles::parse("0xFFFF").unwrap(), Roles::ALL);
        assert_eq!(
            Roles::parse("0X0001 balancer").unwrap(),
            Roles::CLIENT | Roles::BALANCER
        );
        assert_eq!(Roles::parse("0x0").unwrap(), Roles::empty());
        assert_eq!(Roles::parse("None").unwrap(), Roles::empty());
    }

    #[test]
    fn bad_text_names_the_bad_word() {
        for (text, word) in [
            ("host,admin", "admin"),
            ("0x0008", "0x0008"),
            ("0x", "0x"),
            ("0x10000", "0x10000"),
            ("0xZZ", "0xZZ"),
            ("258", "258"),
        ] {
            let err = Roles::parse(text).unwrap_err();
            assert_eq!(err, RolesParseError::Unknown(word.to_owned()), "{text:?}");
            assert!(err.to_string().contains(word));
        }
        assert_eq!(Roles::parse(""), Err(RolesParseError::Empty));
        assert_eq!(Roles::parse(" , "), Err(RolesParseError::Empty));
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!((Roles::SERVER | Roles::HOST).to_string(), "host,server");
        assert_eq!(Roles::ALL.to_string(), "all");
        assert_eq!(Roles::empty().to_string(), "none");
        assert_eq!(
            Roles::all().to_string(),
            "client,host,operator,server,balancer"
        );
        assert_eq!(Roles::from_bits_retain(0x0012).to_string(), "host,0x0010");
        assert_eq!(format!("{:?}", Roles::CLIENT), "Roles(client, 0x0001)");
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(mask in any::<u16>()) {
            if let Ok(roles) = Roles::from_mask(mask) {
                prop_assert_eq!(Roles::parse(&roles.to_string()).unwrap(), roles);
                prop_assert_eq!(Roles::parse(&format!("0x{mask:04x}")).unwrap(), roles);
            } else {
                prop_assert!(mask & !0x0307 != 0 && mask != 0xFFFF);
            }
        }
    }
}
