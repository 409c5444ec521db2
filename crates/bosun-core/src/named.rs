//! Enums that are a fixed set of names: each variant's text is written once, in the
//! enum's declaration, and that one table encodes it (`as_str`, `Display`, serde)
//! and decodes it (`FromStr` and serde exactly, `from_name` in any case). The store, the API and the CLI all go through
//! it, so a kind or a state is never spelt out anywhere else.

/// A name that is none of its type's; the message lists those that are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {given:?}: use one of {}", .expected.join(", "))]
pub struct UnknownName {
    /// What kind of name it was to be, e.g. "trigger kind".
    pub what: &'static str,
    /// The text given.
    pub given: String,
    /// The names there are.
    pub expected: &'static [&'static str],
}

/// Declares an enum of unit variants, each with its text, and the traits that turn
/// it to and from that text (`serde` as a string; an unknown name deserializes to
/// serde's own "unknown variant" error).
macro_rules! named {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order declared.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Every name, in the order declared.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// Its name, as stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }

            /// The value of this name in any case, blanks around it ignored, as
            /// people type it in a query or a flag (the stored form is exact:
            /// [`FromStr`](::std::str::FromStr)).
            pub fn from_name(text: &str) -> Result<Self, $crate::named::UnknownName> {
                let name = text.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str().eq_ignore_ascii_case(name))
                    .ok_or_else(|| $crate::named::UnknownName {
                        what: $what,
                        given: text.to_owned(),
                        expected: Self::NAMES,
                    })
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::named::UnknownName;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $( $text => Ok(Self::$variant), )+
                    _ => Err($crate::named::UnknownName {
                        what: $what,
                        given: text.to_owned(),
                        expected: Self::NAMES,
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(|_| {
                    <D::Error as ::serde::de::Error>::unknown_variant(&text, Self::NAMES)
                })
            }
        }
    };
}

pub(crate) use named;
