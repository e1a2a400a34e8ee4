//! One macro for the many "number on the wire, name in the logs" enums, so
//! every code table has the same API: `ALL`, `code`, `name`, `from_code`,
//! `from_name`, `TryFrom`, `Display`.

/// Declares a fieldless enum with explicit wire numbers and upper-case names.
/// Unknown numbers are refused with `ProtoError::UnknownValue { what, .. }`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident: $repr:ty, what = $what:path {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr($repr)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// Every value, in declaration (wire) order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire number.
            pub const fn code(self) -> $repr {
                self as $repr
            }

            /// The upper-case protocol name.
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Looks a wire number up; unknown numbers are refused.
            pub fn from_code(code: $repr) -> $crate::error::Result<Self> {
                match code {
                    $($value => Ok($name::$variant),)+
                    _ => Err($crate::error::ProtoError::UnknownValue {
                        what: $what,
                        value: u32::from(code),
                    }),
                }
            }

            /// Looks a protocol name up, ignoring ASCII case.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.name().eq_ignore_ascii_case(name))
            }
        }

        impl TryFrom<$repr> for $name {
            type Error = $crate::error::ProtoError;

            fn try_from(code: $repr) -> $crate::error::Result<Self> {
                Self::from_code(code)
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> $repr {
                value.code()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

pub(crate) use wire_enum;
