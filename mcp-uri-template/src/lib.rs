//! The syntax of RFC 6570 URI templates (level 4), as `mcp-runtime` accepts them for
//! resources: the `#[resource]` macro checks templates with it at compile time, and the
//! runtime parses them with it when a server is built, so both accept and refuse the same
//! templates with the same messages.
//!
//! A template is a URI with a scheme (`users://{id}/profile`), made of literal text and
//! expressions: simple `{var}`, reserved `{+var}`, fragment `{#var}`, label `{.var}`, path
//! `{/var}`, path-style `{;var}`, query `{?a,b}` and query continuation `{&c}`, each variable
//! with an optional explode `{var*}` or prefix `{var:3}` modifier. A variable appears once.
//!
//! ```
//! use mcp_uri_template::{Operator, Part, UriTemplate};
//!
//! let t = UriTemplate::parse("files://{+path}{?encoding}").unwrap();
//! assert_eq!(t.variables().collect::<Vec<_>>(), ["path", "encoding"]);
//! assert!(matches!(&t.parts()[1], Part::Expression(e) if e.operator == Operator::Reserved));
//! assert!(UriTemplate::parse("files://{path").is_err());
//! ```
//!
//! Matching a URI against a template, and expanding one, belong to the runtime.

use std::fmt;

/// A parsed URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

/// Literal text or an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text copied as is.
    Literal(String),
    /// `{…}`.
    Expression(Expression),
}

/// One `{…}`: an operator and its variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    /// The operator, `Simple` when there is none.
    pub operator: Operator,
    /// The variables, in order.
    pub variables: Vec<VarSpec>,
}

/// A variable of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarSpec {
    /// The variable's name (letters, digits, `_`, `.` between parts, `%XX` escapes).
    pub name: String,
    /// `{var*}`: a list or map, one item per separator.
    pub explode: bool,
    /// `{var:3}`: at most this many characters of the value.
    pub prefix: Option<u16>,
}

/// The operators of RFC 6570 section 2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `{var}`.
    Simple,
    /// `{+var}`: reserved characters kept.
    Reserved,
    /// `{#var}`.
    Fragment,
    /// `{.var}`.
    Label,
    /// `{/var}`.
    Path,
    /// `{;var}`.
    PathParam,
    /// `{?var}`.
    Query,
    /// `{&var}`.
    QueryContinuation,
}

impl Operator {
    /// What the expansion starts with, when it is not empty.
    pub fn first(self) -> Option<char> {
        match self {
            Operator::Simple | Operator::Reserved => None,
            Operator::Fragment => Some('#'),
            Operator::Label => Some('.'),
            Operator::Path => Some('/'),
            Operator::PathParam => Some(';'),
            Operator::Query => Some('?'),
            Operator::QueryContinuation => Some('&'),
        }
    }

    /// What separates values.
    pub fn separator(self) -> char {
        match self {
            Operator::Simple | Operator::Reserved | Operator::Fragment => ',',
            Operator::Label => '.',
            Operator::Path => '/',
            Operator::PathParam => ';',
            Operator::Query | Operator::QueryContinuation => '&',
        }
    }

    /// Whether values are written `name=value`.
    pub fn named(self) -> bool {
        matches!(
            self,
            Operator::PathParam | Operator::Query | Operator::QueryContinuation
        )
    }

    fn from_char(c: char) -> Option<Operator> {
        Some(match c {
            '+' => Operator::Reserved,
            '#' => Operator::Fragment,
            '.' => Operator::Label,
            '/' => Operator::Path,
            ';' => Operator::PathParam,
            '?' => Operator::Query,
            '&' => Operator::QueryContinuation,
            _ => return None,
        })
    }
}

/// Why a template is refused. The message names the template and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    fn new(message: String) -> Self {
        Error { message }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl UriTemplate {
    /// Parses a template.
    pub fn parse(source: &str) -> Result<UriTemplate, Error> {
        check_scheme(source)?;
        let mut parts = Vec::new();
        let mut rest = source;
        while !rest.is_empty() {
            let literal_end = rest.find(['{', '}']).unwrap_or(rest.len());
            if literal_end > 0 {
                parts.push(Part::Literal(rest[..literal_end].to_string()));
                rest = &rest[literal_end..];
                continue;
            }
            if rest.starts_with('}') {
                return Err(Error::new(format!(
                    "unmatched `}}` in the URI template `{source}`"
                )));
            }
            let Some(close) = rest.find('}') else {
                return Err(Error::new(format!(
                    "unclosed `{{` in the URI template `{source}`"
                )));
            };
            let body = &rest[1..close];
            if body.contains('{') {
                return Err(Error::new(format!(
                    "unclosed `{{` in the URI template `{source}`"
                )));
            }
            parts.push(Part::Expression(parse_expression(body, source)?));
            rest = &rest[close + 1..];
        }
        let template = UriTemplate {
            source: source.to_string(),
            parts,
        };
        let mut seen: Vec<&str> = Vec::new();
        for name in template.variables() {
            if seen.contains(&name) {
                return Err(Error::new(format!(
                    "the variable `{name}` appears twice in `{source}`"
                )));
            }
            seen.push(name);
        }
        Ok(template)
    }

    /// The template text.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Literals and expressions, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Whether the template has no expressions (a fixed URI).
    pub fn is_fixed(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// The variables' names, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Expression(e) => Some(e.variables.iter().map(|v| v.name.as_str())),
                Part::Literal(_) => None,
            })
            .flatten()
    }
}

impl fmt::Display for UriTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// RFC 3986: a letter, then letters, digits, `+`, `-` and `.`, then `:`.
fn check_scheme(source: &str) -> Result<(), Error> {
    let scheme = source.find(':').map(|i| &source[..i]);
    let valid = scheme.is_some_and(|s| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if valid {
        Ok(())
    } else {
        Err(Error::new(format!(
            "`{source}` is not a URI: it needs a scheme, such as `file:///{source}` or `config://{source}`"
        )))
    }
}

fn parse_expression(body: &str, source: &str) -> Result<Expression, Error> {
    let mut chars = body.chars();
    let (operator, list) = match chars.next() {
        Some(c) if Operator::from_char(c).is_some() => (
            Operator::from_char(c).unwrap_or(Operator::Simple),
            chars.as_str(),
        ),
        Some(c @ ('=' | ',' | '!' | '@' | '|')) => {
            return Err(Error::new(format!(
                "the operator `{c}` in `{{{body}}}` is reserved by RFC 6570 and not supported in `{source}`"
            )));
        }
        _ => (Operator::Simple, body),
    };
    if list.is_empty() {
        return Err(Error::new(format!(
            "empty expression `{{{body}}}` in the URI template `{source}`"
        )));
    }
    let mut variables = Vec::new();
    for spec in list.split(',') {
        variables.push(parse_varspec(spec, source)?);
    }
    Ok(Expression {
        operator,
        variables,
    })
}

fn parse_varspec(spec: &str, source: &str) -> Result<VarSpec, Error> {
    let (name, explode, prefix) = if let Some(name) = spec.strip_suffix('*') {
        (name, true, None)
    } else if let Some((name, len)) = spec.split_once(':') {
        let valid = (1..=4).contains(&len.len())
            && !len.starts_with('0')
            && len.chars().all(|c| c.is_ascii_digit());
        if !valid {
            return Err(Error::new(format!(
                "`{spec}` in the URI template `{source}`: a prefix modifier is a length from 1 to 9999, such as `{{{name}:3}}`"
            )));
        }
        (name, false, len.parse().ok())
    } else {
        (spec, false, None)
    };
    if !valid_name(name) {
        return Err(Error::new(format!(
            "`{spec}` in the URI template `{source}` is not a variable name (letters, digits and `_`, parts joined by `.`)"
        )));
    }
    Ok(VarSpec {
        name: name.to_string(),
        explode,
        prefix,
    })
}

/// `varname` of RFC 6570: `varchar *( ["."] varchar )`, a varchar being a letter, digit, `_`
/// or a `%XX` escape.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            let bytes = part.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'%' => {
                        let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
                        if !(hex(i + 1) && hex(i + 2)) {
                            return false;
                        }
                        i += 3;
                    }
                    b if b.is_ascii_alphanumeric() || b == b'_' => i += 1,
                    _ => return false,
                }
            }
            !part.is_empty()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(template: &str) -> String {
        UriTemplate::parse(template).unwrap_err().to_string()
    }

    fn spec(template: &str) -> Vec<(Operator, Vec<VarSpec>)> {
        UriTemplate::parse(template)
            .unwrap()
            .parts()
            .iter()
            .filter_map(|p| match p {
                Part::Expression(e) => Some((e.operator, e.variables.clone())),
                Part::Literal(_) => None,
            })
            .collect()
    }

    fn var(name: &str, explode: bool, prefix: Option<u16>) -> VarSpec {
        VarSpec {
            name: name.into(),
            explode,
            prefix,
        }
    }

    #[test]
    fn fixed_uris_have_one_literal() {
        let t = UriTemplate::parse("config://app").unwrap();
        assert!(t.is_fixed());
        assert_eq!(t.parts(), [Part::Literal("config://app".into())]);
        assert_eq!(t.as_str(), "config://app");
        assert_eq!(t.to_string(), "config://app");
    }

    #[test]
    fn every_operator_is_read() {
        let ops = [
            ("x://{a}", Operator::Simple),
            ("x://{+a}", Operator::Reserved),
            ("x://{#a}", Operator::Fragment),
            ("x://{.a}", Operator::Label),
            ("x://{/a}", Operator::Path),
            ("x://{;a}", Operator::PathParam),
            ("x://{?a}", Operator::Query),
            ("x://{&a}", Operator::QueryContinuation),
        ];
        for (t, op) in ops {
            assert_eq!(spec(t), [(op, vec![var("a", false, None)])], "{t}");
        }
        assert_eq!(Operator::Query.first(), Some('?'));
        assert_eq!(Operator::Path.separator(), '/');
        assert!(Operator::PathParam.named() && !Operator::Label.named());
    }

    #[test]
    fn modifiers_are_read() {
        assert_eq!(
            spec("x://{a*,b:3,c.d,e%20f}"),
            [(
                Operator::Simple,
                vec![
                    var("a", true, None),
                    var("b", false, Some(3)),
                    var("c.d", false, None),
                    var("e%20f", false, None),
                ]
            )]
        );
        assert_eq!(spec("x://{a:9999}")[0].1, [var("a", false, Some(9999))]);
    }

    #[test]
    fn variables_are_listed_in_order() {
        let t = UriTemplate::parse("x://{a}/{+b}{?c,d*}").unwrap();
        assert_eq!(t.variables().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
        assert!(!t.is_fixed());
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        assert_eq!(
            err("x://{unclosed"),
            "unclosed `{` in the URI template `x://{unclosed`"
        );
        assert_eq!(
            err("x://{a{b}"),
            "unclosed `{` in the URI template `x://{a{b}`"
        );
        assert_eq!(err("x://}"), "unmatched `}` in the URI template `x://}`");
        assert_eq!(
            err("x://{}"),
            "empty expression `{}` in the URI template `x://{}`"
        );
        assert_eq!(
            err("x://{?}"),
            "empty expression `{?}` in the URI template `x://{?}`"
        );
        assert!(err("x://{a b}").contains("is not a variable name"));
        assert!(err("x://{a,}").contains("is not a variable name"));
        assert!(err("x://{a..b}").contains("is not a variable name"));
        assert!(err("x://{a%2}").contains("is not a variable name"));
        assert!(err("x://{=a}").contains("reserved by RFC 6570"));
        assert!(err("x://{a:x}").contains("a prefix modifier"));
        assert!(err("x://{a:}").contains("a prefix modifier"));
        assert!(err("x://{a:10000}").contains("a prefix modifier"));
        assert!(err("x://{a:03}").contains("a prefix modifier"));
        assert_eq!(
            err("x://{a}/{a}"),
            "the variable `a` appears twice in `x://{a}/{a}`"
        );
    }

    #[test]
    fn a_scheme_is_required() {
        assert!(err("{id}/profile").contains("is not a URI: it needs a scheme"));
        assert!(err("users/{id}").contains("needs a scheme"));
        assert!(err("1x://a").contains("needs a scheme"));
        assert!(UriTemplate::parse("git+ssh://{host}").is_ok());
        assert!(UriTemplate::parse("urn:isbn:{n}").is_ok());
    }
}
