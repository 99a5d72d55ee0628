//! RFC 6570 URI templates, read backwards: given a template and a URI, which variable values
//! would expand the template into that URI?
//!
//! Every operator of level 4 is understood: simple `{var}`, reserved `{+var}`, fragment
//! `{#var}`, label `{.var}`, path `{/var}`, path-style `{;var}`, query `{?a,b}` and query
//! continuation `{&c}`, with explode `{var*}` and prefix `{var:3}` modifiers.

use std::fmt;

/// A parsed URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Expression(Expression),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Expression {
    op: Op,
    vars: Vec<VarSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct VarSpec {
    name: String,
    explode: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Simple,
    Reserved,
    Fragment,
    Label,
    Path,
    PathParam,
    Query,
    QueryContinuation,
}

impl Op {
    fn first(self) -> Option<char> {
        match self {
            Op::Simple | Op::Reserved => None,
            Op::Fragment => Some('#'),
            Op::Label => Some('.'),
            Op::Path => Some('/'),
            Op::PathParam => Some(';'),
            Op::Query => Some('?'),
            Op::QueryContinuation => Some('&'),
        }
    }

    fn separator(self) -> char {
        match self {
            Op::Simple | Op::Reserved | Op::Fragment => ',',
            Op::Label => '.',
            Op::Path => '/',
            Op::PathParam => ';',
            Op::Query | Op::QueryContinuation => '&',
        }
    }

    fn named(self) -> bool {
        matches!(self, Op::PathParam | Op::Query | Op::QueryContinuation)
    }

    /// Whether a character may appear inside the text this expression expands to.
    fn allows(self, c: char) -> bool {
        match self {
            Op::Reserved => c != '#' && c != '?',
            Op::Fragment => true,
            Op::Simple => !matches!(c, '/' | '?' | '#' | '&'),
            Op::Label => !matches!(c, '/' | '?' | '#' | '&' | ';'),
            Op::Path => !matches!(c, '?' | '#' | '&' | ';'),
            Op::PathParam => !matches!(c, '/' | '?' | '#' | '&'),
            Op::Query | Op::QueryContinuation => !matches!(c, '/' | '#'),
        }
    }
}

/// A template that is not valid RFC 6570.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(pub String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

/// The value a variable took in a matched URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarValue {
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
pub type Bindings = Vec<(String, VarValue)>;

const MAX_URI: usize = 8 * 1024;

impl UriTemplate {
    /// Parses a template.
    pub fn parse(source: &str) -> Result<UriTemplate, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest
                        .find('}')
                        .ok_or_else(|| TemplateError(format!("unclosed `{{` in `{source}`")))?;
                    parts.push(Part::Expression(parse_expression(&rest[1..end], source)?));
                    rest = &rest[end + 1..];
                }
                Some(i) => {
                    parts.push(Part::Literal(check_literal(&rest[..i], source)?));
                    rest = &rest[i..];
                }
                None => {
                    parts.push(Part::Literal(check_literal(rest, source)?));
                    rest = "";
                }
            }
        }
        Ok(UriTemplate {
            source: source.to_string(),
            parts,
        })
    }

    /// Whether the template has no expressions (a fixed URI).
    pub fn is_fixed(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// The variables, in order.
    #[cfg(test)]
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().flat_map(|p| match p {
            Part::Expression(e) => e.vars.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
            Part::Literal(_) => Vec::new(),
        })
    }

    /// The variable values that expand this template into `uri`, if any do.
    pub fn match_uri(&self, uri: &str) -> Option<Bindings> {
        if uri.len() > MAX_URI {
            return None;
        }
        let mut bindings = Vec::new();
        let mut budget = 10_000u32;
        match_parts(&self.parts, uri, &mut bindings, &mut budget).then_some(bindings)
    }
}

impl fmt::Display for UriTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn check_literal(s: &str, source: &str) -> Result<String, TemplateError> {
    if s.contains('}') {
        return Err(TemplateError(format!("unmatched `}}` in `{source}`")));
    }
    Ok(s.to_string())
}

fn parse_expression(body: &str, source: &str) -> Result<Expression, TemplateError> {
    let (op, list) = match body.chars().next() {
        Some('+') => (Op::Reserved, &body[1..]),
        Some('#') => (Op::Fragment, &body[1..]),
        Some('.') => (Op::Label, &body[1..]),
        Some('/') => (Op::Path, &body[1..]),
        Some(';') => (Op::PathParam, &body[1..]),
        Some('?') => (Op::Query, &body[1..]),
        Some('&') => (Op::QueryContinuation, &body[1..]),
        Some('=' | ',' | '!' | '@' | '|') => {
            return Err(TemplateError(format!(
                "operator `{}` is reserved and not supported in `{source}`",
                &body[..1]
            )));
        }
        _ => (Op::Simple, body),
    };
    let mut vars = Vec::new();
    for spec in list.split(',') {
        let (name, explode) = match spec.strip_suffix('*') {
            Some(n) => (n, true),
            None => (spec.split(':').next().unwrap_or(spec), false),
        };
        if let Some((_, len)) = spec.split_once(':')
            && (len.is_empty() || len.len() > 4 || !len.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(TemplateError(format!(
                "bad prefix length `{len}` in `{{{body}}}` of `{source}`"
            )));
        }
        let valid = !name.is_empty()
            && name.split('.').all(|seg| {
                !seg.is_empty()
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '%')
            });
        if !valid {
            return Err(TemplateError(format!(
                "bad variable name `{name}` in `{{{body}}}` of `{source}`"
            )));
        }
        vars.push(VarSpec {
            name: name.to_string(),
            explode,
        });
    }
    Ok(Expression { op, vars })
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
                .find(|&(_, c)| !e.op.allows(c))
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
    let body = match e.op.first() {
        Some(c) => match text.strip_prefix(c) {
            Some(b) => b,
            None => return false,
        },
        None => text,
    };
    let sep = e.op.separator();
    if e.op.named() {
        for item in body.split(sep) {
            let (name, value) = item.split_once('=').unwrap_or((item, ""));
            let Some(name) = percent_decode(name) else {
                return false;
            };
            let Some(var) = e.vars.iter().find(|v| v.name == name) else {
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
    for (i, var) in e.vars.iter().enumerate() {
        let last = i + 1 == e.vars.len();
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
        if last && e.vars.len() == 1 && sep == ',' && items.peek().is_some() {
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
pub fn percent_decode(s: &str) -> Option<String> {
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
