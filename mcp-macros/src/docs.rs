//! Doc comments become descriptions, the way clap reads them: only `#[doc = "…"]` literals,
//! one leading space stripped, blank edges trimmed, paragraphs kept. A rustdoc `# Arguments`
//! list gives the arguments' descriptions and is left out of the item's own.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Attribute, Expr, ExprLit, Lit, Meta};

/// What the doc comment says.
#[derive(Default)]
pub(crate) struct Docs {
    /// The item's description: a literal, or (for `#[doc = include_str!(…)]`) an expression.
    pub(crate) description: Option<TokenStream>,
    /// `(argument, description, span of the doc line)` from the `# Arguments` list.
    pub(crate) arguments: Vec<(String, String, Span)>,
}

pub(crate) fn parse(attrs: &[Attribute]) -> Docs {
    let mut lines: Vec<(String, Span)> = Vec::new();
    let mut exprs: Vec<TokenStream> = Vec::new();
    let mut literal_only = true;
    for attr in attrs {
        let Meta::NameValue(nv) = &attr.meta else {
            continue;
        };
        if !nv.path.is_ident("doc") {
            continue;
        }
        match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => {
                let text = s.value();
                for line in text.split('\n') {
                    let line = line.strip_prefix(' ').unwrap_or(line).trim_end();
                    lines.push((line.to_string(), s.span()));
                }
                exprs.push(quote!(#s, "\n"));
            }
            other => {
                literal_only = false;
                exprs.push(quote!(#other, "\n"));
            }
        }
    }
    if !literal_only {
        return Docs {
            description: Some(quote!(concat!(#(#exprs),*))),
            arguments: Vec::new(),
        };
    }
    let (body, arguments) = split_arguments(&lines);
    let text = tidy(&body);
    Docs {
        description: (!text.is_empty()).then(|| quote!(#text)),
        arguments,
    }
}

fn is_arguments_heading(line: &str) -> bool {
    let Some(rest) = line.trim().strip_prefix('#') else {
        return false;
    };
    let title = rest.trim_start_matches('#').trim().to_ascii_lowercase();
    matches!(
        title.as_str(),
        "arguments" | "args" | "parameters" | "params"
    )
}

fn split_arguments(lines: &[(String, Span)]) -> (Vec<String>, Vec<(String, String, Span)>) {
    let mut body = Vec::new();
    let mut args: Vec<(String, String, Span)> = Vec::new();
    let mut in_args = false;
    for (line, span) in lines {
        if is_arguments_heading(line) {
            in_args = true;
            continue;
        }
        if in_args && line.trim_start().starts_with('#') {
            in_args = false;
        }
        if !in_args {
            body.push(line.clone());
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some((name, desc)) = parse_item(trimmed) {
            args.push((name, desc, *span));
        } else if let Some(last) = args.last_mut() {
            if !last.1.is_empty() {
                last.1.push(' ');
            }
            last.1.push_str(trimmed);
        }
    }
    (body, args)
}

/// `* `name` - text`, `- name: text`, `* name — text`.
fn parse_item(line: &str) -> Option<(String, String)> {
    let rest = line
        .strip_prefix('*')
        .or_else(|| line.strip_prefix('-'))?
        .trim_start();
    let (name, rest) = if let Some(r) = rest.strip_prefix('`') {
        let end = r.find('`')?;
        (&r[..end], &r[end + 1..])
    } else {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (&rest[..end], &rest[end..])
    };
    if name.is_empty() {
        return None;
    }
    let desc = rest
        .trim_start()
        .trim_start_matches(['-', ':', '—', '–'])
        .trim();
    Some((name.to_string(), desc.to_string()))
}

/// Trims blank lines at both ends and squeezes runs of blank lines.
fn tidy(lines: &[String]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for l in lines {
        if l.trim().is_empty() && out.last().is_none_or(|p| p.is_empty()) {
            continue;
        }
        out.push(if l.trim().is_empty() { "" } else { l });
    }
    while out.last() == Some(&"") {
        out.pop();
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(src: &[&str]) -> Vec<(String, Span)> {
        src.iter()
            .map(|s| (s.to_string(), Span::call_site()))
            .collect()
    }

    #[test]
    fn arguments_section_is_split_out() {
        let (body, args) = split_arguments(&lines(&[
            "Current weather.",
            "",
            "# Arguments",
            "* `city` - City name, e.g. \"Paris\".",
            "* `units` - Unit system",
            "  for temperatures.",
            "- days: How many days.",
            "",
            "# Errors",
            "When offline.",
        ]));
        assert_eq!(tidy(&body), "Current weather.\n\n# Errors\nWhen offline.");
        let args: Vec<(&str, &str)> = args
            .iter()
            .map(|(a, b, _)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(
            args,
            [
                ("city", "City name, e.g. \"Paris\"."),
                ("units", "Unit system for temperatures."),
                ("days", "How many days.")
            ]
        );
    }

    #[test]
    fn tidy_trims_edges_and_keeps_paragraphs() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(tidy(&l(&["", "a", "b", "", "", "c", ""])), "a\nb\n\nc");
    }
}
