//! Safe template values: what a percent-decoded URI template variable may contain.
//!
//! Variables arrive percent-decoded, so `test://items/..%2F..%2Fetc%2Fpasswd` would hand a
//! `{id}` parameter `../../etc/passwd`. In the expansions whose values are one path segment or
//! label (`{var}`, `{.var}`, `{/var}`, `{;var}`), a value that decoded to a `/` or `\`, a NUL,
//! or the segment `..` is refused with "invalid params" before the handler runs.
//! [`Unchecked<T>`] takes such a parameter as decoded, and [`SafePath`] is the type for a
//! parameter a handler builds a file path from.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use mcp_uri_template::Operator;

const UNCHECKED: &str = "mcp_runtime::Unchecked";
const SAFE_PATH: &str = "mcp_runtime::SafePath";

/// A template variable taken exactly as it decoded, without the check that refuses `/`, `\`,
/// `..` and NUL in one-segment expansions: the opt-out of one parameter.
///
/// ```
/// use mcp_runtime::prelude::*;
/// use mcp_runtime::Unchecked;
///
/// /// `ref` may be a branch name such as `feature/x`, sent as `feature%2Fx`.
/// #[resource("git://refs/{name}")]
/// fn git_ref(name: Unchecked<String>) -> String {
///     format!("ref {}", name.0)
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename = "mcp_runtime::Unchecked")]
pub struct Unchecked<T>(pub T);

/// A relative path that stays below the directory it is joined to: only normal components,
/// none of them `..` or `.`, no root, drive or `\`, no NUL or other control character, not
/// empty. Take it for a template variable that names a file (usually a reserved expansion
/// `{+path}`, whose value may span `/`), then [`SafePath::under`] a base directory.
///
/// It checks the text only: a symbolic link inside the base directory can still lead out of
/// it, so do not let clients create links there.
///
/// ```
/// use mcp_runtime::prelude::*;
/// use mcp_runtime::SafePath;
///
/// #[resource("docs://{+path}")]
/// fn doc(path: SafePath) -> Result<String, ResourceError> {
///     std::fs::read_to_string(path.under("/srv/docs")).map_err(|_| ResourceError::not_found(&path))
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SafePath(PathBuf);

impl SafePath {
    /// Checks `text` (see [`SafePath`]); the error says what is wrong.
    pub fn new(text: &str) -> Result<SafePath, String> {
        if text.is_empty() {
            return Err("the path is empty".into());
        }
        if let Some(c) = text.chars().find(|c| c.is_control()) {
            return Err(format!(
                "the path contains the control character U+{:04X}",
                c as u32
            ));
        }
        if text.contains('\\') {
            return Err("the path contains `\\`".into());
        }
        if text.starts_with('/') {
            return Err("the path is absolute".into());
        }
        // `C:` would be a drive on Windows; refused everywhere, so one rule holds.
        if text.split('/').next().is_some_and(|s| s.contains(':')) {
            return Err("the path's first segment contains `:`".into());
        }
        for segment in text.split('/') {
            match segment {
                ".." => return Err("the path contains the segment `..`".into()),
                "." => return Err("the path contains the segment `.`".into()),
                _ => {}
            }
        }
        let path = PathBuf::from(text);
        if !path.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err("the path has a component that is not a plain name".into());
        }
        Ok(SafePath(path))
    }

    /// The path relative to its base.
    pub fn as_path(&self) -> &Path {
        &self.0
    }

    /// `base` joined with this path: always below `base`.
    pub fn under(&self, base: impl AsRef<Path>) -> PathBuf {
        base.as_ref().join(&self.0)
    }
}

impl AsRef<Path> for SafePath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl fmt::Display for SafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.display().fmt(f)
    }
}

impl<'de> Deserialize<'de> for SafePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SafePath, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SafePath;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a relative path")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<SafePath, E> {
                SafePath::new(s).map_err(E::custom)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<SafePath, D::Error> {
                d.deserialize_str(self)
            }
        }
        deserializer.deserialize_newtype_struct(SAFE_PATH, V)
    }
}

impl Serialize for SafePath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string_lossy())
    }
}

/// Whether values of this operator are checked: those that stand for one segment or label.
pub(crate) fn is_checked(operator: Operator) -> bool {
    matches!(
        operator,
        Operator::Simple | Operator::Label | Operator::Path | Operator::PathParam
    )
}

/// What is wrong with a decoded one-segment value, if anything.
pub(crate) fn unsafe_value(value: &str) -> Option<&'static str> {
    if value.contains('/') {
        Some("`/`")
    } else if value.contains('\\') {
        Some("`\\`")
    } else if value.contains('\0') {
        Some("NUL")
    } else if value == ".." {
        Some("the segment `..`")
    } else {
        None
    }
}

/// Whether `T` takes its value unchecked: [`Unchecked`], or [`SafePath`] (which checks more).
pub(crate) fn opts_out<T: de::DeserializeOwned>() -> bool {
    let name = std::cell::Cell::new(None);
    let _ = T::deserialize(NameProbe(&name));
    matches!(name.get(), Some(UNCHECKED | SAFE_PATH))
}

/// A deserializer that only notes the name of the newtype struct it is asked for.
struct NameProbe<'a>(&'a std::cell::Cell<Option<&'static str>>);

impl<'de> Deserializer<'de> for NameProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("probe"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.set(Some(name));
        Err(de::Error::custom("probe"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths_stay_below_their_base() {
        for ok in ["a", "a/b.txt", "dir/sub/file", "über/naïve", "a..b/c"] {
            let p = SafePath::new(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(p.under("/base").starts_with("/base"), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("../etc/passwd", "`..`"),
            ("a/../../b", "`..`"),
            ("/etc/passwd", "absolute"),
            ("a\\..\\b", "`\\`"),
            ("a\0b", "U+0000"),
            ("./a", "`.`"),
            ("C:/Windows", "`:`"),
            ("a\nb", "U+000A"),
        ] {
            let e = SafePath::new(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn unsafe_values_are_named() {
        assert_eq!(unsafe_value("../../etc/passwd"), Some("`/`"));
        assert_eq!(unsafe_value(".."), Some("the segment `..`"));
        assert_eq!(unsafe_value("a\0"), Some("NUL"));
        assert_eq!(unsafe_value("a\\b"), Some("`\\`"));
        assert_eq!(unsafe_value("a..b"), None);
        assert_eq!(unsafe_value("42"), None);
    }

    #[test]
    fn the_opt_outs_are_recognised_through_option() {
        assert!(opts_out::<Unchecked<String>>());
        assert!(opts_out::<SafePath>());
        assert!(opts_out::<Option<SafePath>>());
        assert!(!opts_out::<String>());
        assert!(!opts_out::<u64>());
        assert!(!opts_out::<Vec<String>>());
    }
}
