//! The second decoding pass: typed requests read from (and written to) the
//! arguments of a control packet.

use super::control::{ControlBuilder, ControlKind, ControlPacket};
use super::labels::{self, labelled};
use crate::error::{ProtoError, Result};
use crate::tsd::{TsdBuilder, TsdItem};

/// A typed cluster or session operation.
///
/// `to_packet` refuses values that `from_packet` would refuse, so what we
/// send is what we accept. `from_packet` reads the items before the SIGN
/// item; checking the signature is left to the crypto crate.
pub trait Request: Sized {
    /// Cluster or session packet types.
    type Kind: ControlKind;
    /// The packet type this request travels in.
    const KIND: Self::Kind;

    /// Appends this request's arguments, in wire order.
    fn write_args(&self, args: &mut TsdBuilder) -> Result<()>;

    /// Reads the arguments (SIGN excluded): required items present, items
    /// that may appear once not repeated, sizes exact, no foreign items.
    fn read_args(items: &[TsdItem<'_>]) -> Result<Self>;

    /// A builder holding header and arguments, ready to be signed
    /// ([`ControlBuilder::finish_signed`]) or finished unsigned.
    fn to_packet(&self) -> Result<ControlBuilder<Self::Kind>> {
        let mut builder = ControlBuilder::new(Self::KIND);
        self.write_args(builder.args_mut())?;
        Ok(builder)
    }

    /// Reads the request from a decoded packet of the same type.
    fn from_packet(packet: &ControlPacket<'_, Self::Kind>) -> Result<Self> {
        if packet.kind() != Self::KIND {
            return Err(ProtoError::Malformed {
                what: labels::REQUEST_TYPE,
                reason: "the packet type does not match the request",
            });
        }
        Self::read_args(packet.unsigned_items())
    }
}

/// Declares an enum of every typed request of one sub-packet, with
/// `from_packet` dispatching on the packet type. Types without a typed form
/// decode to `Other(kind)` with their arguments unchecked.
macro_rules! request_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident: $kind_ty:ident {
            $( $variant:ident($ty:ty) = $kind:ident, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis enum $name {
            $( $variant($ty), )+
            /// A packet type without a typed form; its arguments are not read.
            Other($kind_ty),
        }

        impl $name {
            /// Reads the typed request that the packet's type calls for.
            pub fn from_packet(
                packet: &$crate::avrs::ControlPacket<'_, $kind_ty>,
            ) -> $crate::error::Result<Self> {
                use $crate::avrs::Request;
                Ok(match packet.kind() {
                    $( $kind_ty::$kind => Self::$variant(<$ty>::from_packet(packet)?), )+
                    other => Self::Other(other),
                })
            }

            /// The packet type.
            pub fn kind(&self) -> $kind_ty {
                match self {
                    $( Self::$variant(_) => $kind_ty::$kind, )+
                    Self::Other(kind) => *kind,
                }
            }

            /// Header and arguments, ready to be signed.
            pub fn to_packet(
                &self,
            ) -> $crate::error::Result<$crate::avrs::ControlBuilder<$kind_ty>> {
                use $crate::avrs::Request;
                match self {
                    $( Self::$variant(request) => request.to_packet(), )+
                    Self::Other(kind) => Ok($crate::avrs::ControlBuilder::new(*kind)),
                }
            }
        }
    };
}

pub(crate) use request_enum;

/// Stores `value` in an empty slot; a second value is a duplicate item.
pub(crate) fn set_once<T>(slot: &mut Option<T>, value: T, what: &'static str) -> Result<()> {
    if slot.is_some() {
        return Err(ProtoError::Duplicate { what });
    }
    *slot = Some(value);
    Ok(())
}

/// The value of a required item.
pub(crate) fn required<T>(slot: Option<T>, what: &'static str) -> Result<T> {
    slot.ok_or(ProtoError::Missing { what })
}

/// A defined argument that this packet type does not take.
pub(crate) fn not_allowed(code: u16) -> ProtoError {
    ProtoError::UnknownValue {
        what: labels::ARG_NOT_ALLOWED,
        value: u32::from(code),
    }
}

/// A NUL-terminated UTF-8 string item of at most `max` bytes (NUL excluded).
pub(crate) fn read_str(item: &TsdItem<'_>, max: usize, what: &'static str) -> Result<String> {
    item.str_max(max).map(str::to_owned).map_err(labelled(what))
}

/// Appends a string item after the same checks [`read_str`] makes.
pub(crate) fn write_str(
    args: &mut TsdBuilder,
    code: u16,
    text: &str,
    max: usize,
    what: &'static str,
) -> Result<()> {
    if text.len() > max {
        return Err(ProtoError::TooLarge {
            what,
            size: text.len(),
            max,
        });
    }
    args.put_str(code, text).map_err(labelled(what))?;
    Ok(())
}

/// A `u8` item holding a boolean: 0 or 1, nothing else.
pub(crate) fn read_bool(item: &TsdItem<'_>, what: &'static str) -> Result<bool> {
    match item.u8().map_err(labelled(what))? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(ProtoError::UnknownValue {
            what,
            value: u32::from(other),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(value: &[u8]) -> TsdItem<'_> {
        TsdItem {
            code: 9,
            value,
            offset: 0,
        }
    }

    #[test]
    fn set_once_refuses_a_second_value() {
        let mut slot = None;
        set_once(&mut slot, 1, "x").unwrap();
        assert_eq!(
            set_once(&mut slot, 2, "x"),
            Err(ProtoError::Duplicate { what: "x" })
        );
        assert_eq!(slot, Some(1));
        assert_eq!(required(slot, "x"), Ok(1));
        assert_eq!(
            required(None::<u8>, "y"),
            Err(ProtoError::Missing { what: "y" })
        );
    }

    #[test]
    fn strings_are_capped_both_ways_and_labelled() {
        assert_eq!(read_str(&item(b"abc\0"), 3, "t").unwrap(), "abc");
        assert_eq!(
            read_str(&item(b"abcd\0"), 3, "t"),
            Err(ProtoError::TooLarge {
                what: "t",
                size: 4,
                max: 3
            })
        );
        assert!(matches!(
            read_str(&item(b"abc"), 3, "t"),
            Err(ProtoError::BadString { what: "t", .. })
        ));
        let mut args = TsdBuilder::new();
        assert_eq!(
            write_str(&mut args, 1, "abcd", 3, "t"),
            Err(ProtoError::TooLarge {
                what: "t",
                size: 4,
                max: 3
            })
        );
        assert!(matches!(
            write_str(&mut args, 1, "a\0", 3, "t"),
            Err(ProtoError::BadString { what: "t", .. })
        ));
        assert!(args.is_empty(), "refused strings write nothing");
        write_str(&mut args, 1, "abc", 3, "t").unwrap();
        assert_eq!(args.as_bytes(), [1, 0, 4, 0, 0, 0, b'a', b'b', b'c', 0]);
    }

    #[test]
    fn booleans_are_zero_or_one() {
        assert_eq!(read_bool(&item(&[0]), "b"), Ok(false));
        assert_eq!(read_bool(&item(&[1]), "b"), Ok(true));
        assert_eq!(
            read_bool(&item(&[2]), "b"),
            Err(ProtoError::UnknownValue {
                what: "b",
                value: 2
            })
        );
        assert!(matches!(
            read_bool(&item(&[0, 0]), "b"),
            Err(ProtoError::WrongSize { what: "b", .. })
        ));
    }
}
