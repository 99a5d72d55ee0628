//! Typed values from text: resource template variables and prompt arguments arrive as strings
//! and become the handler's parameter types (`u64`, `bool`, enums, `Vec<T>`, JSON structs).

use serde::de::value::{Error, SeqDeserializer};
use serde::de::{self, Deserializer, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

/// Text to deserialize: one string, a list of strings, or nothing at all.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Text<'a> {
    /// One value.
    One(&'a str),
    /// Several values (an exploded URI variable).
    List(&'a [String]),
    /// No value: only `Option`s, `()` and defaults accept it.
    Absent,
}

impl<'a> Text<'a> {
    /// Deserializes `T` from the text; the error says what was expected.
    pub(crate) fn parse<T: de::DeserializeOwned>(self) -> Result<T, String> {
        T::deserialize(TextDeserializer(self)).map_err(|e| e.to_string())
    }

    /// Whether `T` accepts no value at all (`Option<T>`).
    pub(crate) fn accepts_absent<T: de::DeserializeOwned>() -> bool {
        T::deserialize(TextDeserializer(Text::Absent)).is_ok()
    }
}

struct TextDeserializer<'a>(Text<'a>);

macro_rules! parse_number {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let s = self.one()?;
            match s.trim().parse::<$ty>() {
                Ok(n) => visitor.$visit(n),
                Err(_) => Err(de::Error::custom(format!(
                    "invalid value {s:?}, expected {}", stringify!($ty)
                ))),
            }
        }
    )*};
}

impl<'a> TextDeserializer<'a> {
    fn one(&self) -> Result<&'a str, Error> {
        match self.0 {
            Text::One(s) => Ok(s),
            Text::List(l) if l.len() == 1 => Ok(&l[0]),
            Text::List(_) => Err(de::Error::custom("expected one value, got a list")),
            Text::Absent => Err(de::Error::custom("missing value")),
        }
    }

    fn json<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        let s = self.one()?;
        let value: serde_json::Value = serde_json::from_str(s)
            .map_err(|e| de::Error::custom(format!("expected JSON, got {s:?}: {e}")))?;
        value.deserialize_any(visitor).map_err(de::Error::custom)
    }
}

impl<'de> Deserializer<'de> for TextDeserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Text::One(s) => visitor.visit_str(s),
            Text::List(l) => visitor.visit_seq(SeqDeserializer::new(
                l.iter().map(|s| TextDeserializer(Text::One(s))),
            )),
            Text::Absent => Err(de::Error::custom("missing value")),
        }
    }

    parse_number! {
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_i128 => i128, visit_i128;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_u128 => u128, visit_u128;
        deserialize_f32 => f32, visit_f32;
        deserialize_f64 => f64, visit_f64;
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let s = self.one()?;
        match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => visitor.visit_bool(true),
            "false" | "0" | "no" => visitor.visit_bool(false),
            _ => Err(de::Error::custom(format!(
                "invalid value {s:?}, expected true or false"
            ))),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let s = self.one()?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(de::Error::custom(format!(
                "invalid value {s:?}, expected one character"
            ))),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.one()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Text::Absent => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Text::One(s) if s.trim_start().starts_with('[') => self.json(visitor),
            Text::One(s) => visitor.visit_seq(SeqDeserializer::new(
                s.split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| TextDeserializer(Text::One(p))),
            )),
            // An exploded variable with no items is undefined in RFC 6570: an empty list.
            Text::Absent => visitor.visit_seq(SeqDeserializer::new(std::iter::empty::<
                TextDeserializer<'de>,
            >())),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.json(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.json(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let s = self.one()?;
        if s.trim_start().starts_with('{') {
            return self.json(visitor);
        }
        visitor.visit_enum(s.into_deserializer())
    }

    forward_to_deserialize_any! {
        bytes byte_buf unit_struct tuple_struct identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, Error> for TextDeserializer<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
        Slow,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct P {
        x: i32,
    }

    #[test]
    fn parses_primitives_enums_lists_and_json() {
        assert_eq!(Text::One("42").parse::<u64>(), Ok(42));
        assert_eq!(Text::One(" -3 ").parse::<i8>(), Ok(-3));
        assert_eq!(Text::One("2.5").parse::<f64>(), Ok(2.5));
        assert_eq!(Text::One("true").parse::<bool>(), Ok(true));
        assert_eq!(Text::One("007").parse::<String>(), Ok("007".to_string()));
        assert_eq!(Text::One("fast").parse::<Mode>(), Ok(Mode::Fast));
        assert_eq!(
            Text::One("a,b").parse::<Vec<String>>(),
            Ok(vec!["a".into(), "b".into()])
        );
        assert_eq!(Text::One("[1,2]").parse::<Vec<u8>>(), Ok(vec![1, 2]));
        let list = ["1".to_string(), "2".to_string()];
        assert_eq!(Text::List(&list).parse::<Vec<u32>>(), Ok(vec![1, 2]));
        assert_eq!(Text::One(r#"{"x":1}"#).parse::<P>(), Ok(P { x: 1 }));
        assert_eq!(Text::One("5").parse::<Option<u8>>(), Ok(Some(5)));
        assert_eq!(Text::Absent.parse::<Option<u8>>(), Ok(None));
    }

    #[test]
    fn errors_say_what_was_expected() {
        assert_eq!(
            Text::One("abc").parse::<u64>().unwrap_err(),
            "invalid value \"abc\", expected u64"
        );
        assert!(
            Text::One("medium")
                .parse::<Mode>()
                .unwrap_err()
                .contains("unknown variant `medium`")
        );
        assert!(Text::Absent.parse::<u8>().is_err());
        assert!(Text::accepts_absent::<Option<String>>());
        assert_eq!(Text::Absent.parse::<Vec<u8>>(), Ok(vec![]));
        assert!(!Text::accepts_absent::<String>());
    }
}
