//! RFC 6570 URI templates, read backwards: given a template and a URI, which variable values
//! would expand the template into that URI?
//!
//! The syntax (parsing and its errors) is the `mcp-uri-template` crate's, which the
//! `#[resource]` macro also checks templates with; this module adds matching. Every operator of
//! level 4 is understood: simple `{var}`, reserved `{+var}`, fragment `{#var}`, label `{.var}`,
//! path `{/var}`, path-style `{;var}`, query `{?a,b}` and query continuation `{&c}`, with
//! explode `{var*}` and prefix `{var:3}` modifiers.

use std::fmt;

use mcp_uri_template::{Expression, Operator, Part};

/// A parsed URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UriTemplate {
    syntax: mcp_uri_template::UriTemplate,
}

/// A template that is not valid RFC 6570.
pub(crate) type TemplateError = mcp_uri_template::Error;

/// Whether a character may appear inside the text an expression with this operator expands
/// to.
fn allows(op: Operator, c: char) -> bool {
    match op {
        Operator::Reserved => c != '#' && c != '?',
        Operator::Fragment => true,
        Operator::Simple => !matches!(c, '/' | '?' | '#' | '&'),
        Operator::Label => !matches!(c, '/' | '?' | '#' | '&' | ';'),
        Operator::Path => !matches!(c, '?' | '#' | '&' | ';'),
        Operator::PathParam => !matches!(c, '/' | '?' | '#' | '&'),
        Operator::Query | Operator::QueryContinuation => !matches!(c, '/' | '#'),
    }
}

/// The value a variable took in a matched URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VarValue {
    /// One value.
    One(String),
    /// An exploded list, or several values of the same query name.
    List(Vec<String>),
}

impl VarValue {
    fn push(&mut self, v: String) {
        match self {
            VarValue::One(first) => *self = VarValue::List(vec![std::mem::take(first), v]),
            VarValue::List(list) => list.push(v),
        }
    }
}

/// Variable values read from a URI, in template order.
pub(crate) type Bindings = Vec<(String, VarValue)>;

const MAX_URI: usize = 8 * 1024;

impl UriTemplate {
    /// Parses a template.
    pub(crate) fn parse(source: &str) -> Result<UriTemplate, TemplateError> {
        Ok(UriTemplate {
            syntax: mcp_uri_template::UriTemplate::parse(source)?,
        })
    }

    /// The template text.
    pub(crate) fn as_str(&self) -> &str {
        self.syntax.as_str()
    }

    /// Whether the template has no expressions (a fixed URI).
    pub(crate) fn is_fixed(&self) -> bool {
        self.syntax.is_fixed()
    }

    /// The variables, in order.
    #[cfg(test)]
    pub(crate) fn variables(&self) -> impl Iterator<Item = &str> {
        self.syntax.variables()
    }

    /// The operator of the expression that has the variable `name`.
    pub(crate) fn operator_of(&self, name: &str) -> Option<Operator> {
        self.syntax.parts().iter().find_map(|p| match p {
            Part::Expression(e) if e.variables.iter().any(|v| v.name == name) => Some(e.operator),
            _ => None,
        })
    }

    /// The variable values that expand this template into `uri`, if any do.
    pub(crate) fn match_uri(&self, uri: &str) -> Option<Bindings> {
        if uri.len() > MAX_URI {
            return None;
        }
        let mut bindings = Vec::new();
        let mut budget = 10_000u32;
        match_parts(self.syntax.parts(), uri, &mut bindings, &mut budget).then_some(bindings)
    }
}

impl fmt::Display for UriTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn match_parts(parts: &[Part], uri: &str, bindings: &mut Bindings, budget: &mut u32) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    let Some((first, rest)) = parts.split_first() else {
        return uri.is_empty();
    };
    match first {
        Part::Literal(lit) => {
            uri.starts_with(lit.as_str()) && match_parts(rest, &uri[lit.len()..], bindings, budget)
        }
        Part::Expression(e) => {
            // The longest run this expression could cover, then every shorter end, shortest
            // first: the rest of the template decides where the value stops.
            let max = uri
                .char_indices()
                .find(|&(_, c)| !allows(e.operator, c))
                .map_or(uri.len(), |(i, _)| i);
            let ends =
                std::iter::once(0).chain(uri[..max].char_indices().map(|(i, c)| i + c.len_utf8()));
            for end in ends {
                let mark = bindings.len();
                if decode_expression(e, &uri[..end], bindings)
                    && match_parts(rest, &uri[end..], bindings, budget)
                {
                    return true;
                }
                bindings.truncate(mark);
            }
            false
        }
    }
}

/// Reads the variables of one expression from the text it expanded to.
fn decode_expression(e: &Expression, text: &str, bindings: &mut Bindings) -> bool {
    if text.is_empty() {
        // Every variable undefined.
        return true;
    }
    let body = match e.operator.first() {
        Some(c) => match text.strip_prefix(c) {
            Some(b) => b,
            None => return false,
        },
        None => text,
    };
    let sep = e.operator.separator();
    if e.operator.named() {
        for item in body.split(sep) {
            let (name, value) = item.split_once('=').unwrap_or((item, ""));
            let Some(name) = percent_decode(name) else {
                return false;
            };
            let Some(var) = e.variables.iter().find(|v| v.name == name) else {
                return false;
            };
            let Some(value) = percent_decode(value) else {
                return false;
            };
            match bindings.iter_mut().find(|(n, _)| *n == var.name) {
                Some((_, existing)) if var.explode => existing.push(value),
                Some(_) => return false,
                None if var.explode => {
                    bindings.push((var.name.clone(), VarValue::List(vec![value])))
                }
                None => bindings.push((var.name.clone(), VarValue::One(value))),
            }
        }
        return true;
    }
    let mut items = body.split(sep).peekable();
    for (i, var) in e.variables.iter().enumerate() {
        let last = i + 1 == e.variables.len();
        if var.explode && last {
            return push_list(&var.name, Vec::new(), items, bindings);
        }
        let Some(item) = items.next() else {
            return true;
        };
        let value = match percent_decode(item) {
            Some(v) => v,
            None => return false,
        };
        // A non-exploded list in a single-variable expression reads as comma-separated.
        if last && e.variables.len() == 1 && sep == ',' && items.peek().is_some() {
            return push_list(&var.name, vec![value], items, bindings);
        }
        bindings.push((var.name.clone(), VarValue::One(value)));
    }
    items.next().is_none()
}

/// Binds `name` to `list` plus every remaining item, decoded; false on a bad escape.
fn push_list<'a>(
    name: &str,
    mut list: Vec<String>,
    items: impl Iterator<Item = &'a str>,
    bindings: &mut Bindings,
) -> bool {
    for item in items {
        match percent_decode(item) {
            Some(v) => list.push(v),
            None => return false,
        }
    }
    bindings.push((name.to_string(), VarValue::List(list)));
    true
}

/// Decodes `%XX` escapes; `None` for a bad escape or bytes that are not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(template: &str, uri: &str) -> Option<Vec<(String, VarValue)>> {
        UriTemplate::parse(template).unwrap().match_uri(uri)
    }

    fn one(s: &str) -> VarValue {
        VarValue::One(s.into())
    }

    fn list(v: &[&str]) -> VarValue {
        VarValue::List(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn fixed_uris_match_only_themselves() {
        assert_eq!(m("config://app", "config://app"), Some(vec![]));
        assert_eq!(m("config://app", "config://app2"), None);
        assert!(UriTemplate::parse("config://app").unwrap().is_fixed());
    }

    #[test]
    fn simple_variables_stop_at_slashes() {
        assert_eq!(
            m("users://{id}/profile", "users://42/profile"),
            Some(vec![("id".into(), one("42"))])
        );
        assert_eq!(m("users://{id}/profile", "users://4/2/profile"), None);
        assert_eq!(
            m("users://{id}/profile", "users:///profile"),
            Some(vec![]),
            "an empty value is undefined"
        );
        assert_eq!(
            m("repo://{owner}/{name}", "repo://rust-lang/rust"),
            Some(vec![
                ("owner".into(), one("rust-lang")),
                ("name".into(), one("rust"))
            ])
        );
    }

    #[test]
    fn percent_encoding_is_decoded() {
        assert_eq!(
            m("notes://{title}", "notes://hello%20world"),
            Some(vec![("title".into(), one("hello world"))])
        );
        assert_eq!(
            m("notes://{title}", "notes://caf%C3%A9"),
            Some(vec![("title".into(), one("café"))])
        );
        assert_eq!(m("notes://{title}", "notes://bad%zz"), None);
        assert_eq!(m("notes://{title}", "notes://%FF"), None, "not UTF-8");
        assert_eq!(
            m("notes://{title}", "notes://ünïcode"),
            Some(vec![("title".into(), one("ünïcode"))])
        );
    }

    #[test]
    fn reserved_expansion_spans_slashes() {
        assert_eq!(
            m("file:///{+path}", "file:///usr/local/bin"),
            Some(vec![("path".into(), one("usr/local/bin"))])
        );
        assert_eq!(
            m(
                "file:///{+path}{?encoding}",
                "file:///a/b.txt?encoding=utf-8"
            ),
            Some(vec![
                ("path".into(), one("a/b.txt")),
                ("encoding".into(), one("utf-8"))
            ])
        );
        assert_eq!(
            m("docs://{#section}", "docs://#intro/part"),
            Some(vec![("section".into(), one("intro/part"))])
        );
    }

    #[test]
    fn explode_and_lists() {
        assert_eq!(
            m("tags://{list*}", "tags://a,b,c"),
            Some(vec![("list".into(), list(&["a", "b", "c"]))])
        );
        assert_eq!(
            m("tags://{list}", "tags://a,b"),
            Some(vec![("list".into(), list(&["a", "b"]))])
        );
        assert_eq!(
            m("fs://root{/segments*}", "fs://root/a/b/c"),
            Some(vec![("segments".into(), list(&["a", "b", "c"]))])
        );
        assert_eq!(
            m("x://{a,b}", "x://1,2"),
            Some(vec![("a".into(), one("1")), ("b".into(), one("2"))])
        );
        assert_eq!(m("x://{a,b}", "x://1,2,3"), None);
        assert_eq!(
            m("img://logo{.ext}", "img://logo.png"),
            Some(vec![("ext".into(), one("png"))])
        );
    }

    #[test]
    fn queries_are_named_and_optional() {
        let t = "search://items{?q,limit}";
        assert_eq!(
            m(t, "search://items?q=rust&limit=10"),
            Some(vec![("q".into(), one("rust")), ("limit".into(), one("10"))])
        );
        assert_eq!(
            m(t, "search://items?limit=5"),
            Some(vec![("limit".into(), one("5"))])
        );
        assert_eq!(m(t, "search://items"), Some(vec![]));
        assert_eq!(m(t, "search://items?other=1"), None);
        assert_eq!(
            m(t, "search://items?q=a&q=b"),
            None,
            "a plain variable takes one value"
        );
        assert_eq!(
            m("s://x{?tag*}", "s://x?tag=a&tag=b"),
            Some(vec![("tag".into(), list(&["a", "b"]))])
        );
        assert_eq!(
            m("s://x{?a}{&b}", "s://x?a=1&b=2"),
            Some(vec![("a".into(), one("1")), ("b".into(), one("2"))])
        );
        assert_eq!(
            m("s://x{;v}", "s://x;v=2"),
            Some(vec![("v".into(), one("2"))])
        );
        assert_eq!(
            m(t, "search://items?q=a%26b"),
            Some(vec![("q".into(), one("a&b"))])
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(UriTemplate::parse("x://{unclosed").is_err());
        assert!(UriTemplate::parse("x://}").is_err());
        assert!(UriTemplate::parse("x://{}").is_err());
        assert!(UriTemplate::parse("x://{a b}").is_err());
        assert!(UriTemplate::parse("x://{=a}").is_err());
        assert!(UriTemplate::parse("x://{a:x}").is_err());
        assert!(UriTemplate::parse("x://{a:3}").is_ok());
    }

    #[test]
    fn variables_are_listed_in_order() {
        let t = UriTemplate::parse("x://{a}/{+b}{?c,d*}").unwrap();
        assert_eq!(t.variables().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    }

    #[test]
    fn pathological_input_is_bounded() {
        let t = UriTemplate::parse("x://{a}{b}{c}{d}{e}/end").unwrap();
        let uri = format!("x://{}", "a".repeat(5000));
        assert_eq!(t.match_uri(&uri), None);
        assert_eq!(t.match_uri(&"a".repeat(MAX_URI + 1)), None);
    }
}
