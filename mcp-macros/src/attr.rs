//! Shared attribute-parsing helpers: one slot per key, duplicates reported at the second.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{LitBool, LitStr, Token};

use crate::ctxt::Ctxt;

/// A key that may be given once.
pub(crate) struct Slot<T> {
    name: &'static str,
    value: Option<T>,
}

impl<T> Slot<T> {
    pub(crate) fn new(name: &'static str) -> Self {
        Slot { name, value: None }
    }

    /// Stores the value; a second one is an error at `span`.
    pub(crate) fn set(&mut self, cx: &Ctxt, span: Span, value: T) {
        if self.value.is_some() {
            cx.syn_error(syn::Error::new(
                span,
                format!("duplicate `{}` option", self.name),
            ));
        } else {
            self.value = Some(value);
        }
    }

    pub(crate) fn get(self) -> Option<T> {
        self.value
    }
}

/// `key = "text"`.
pub(crate) fn string(meta: &ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    meta.value()?.parse()
}

/// `key` (true) or `key = true|false`.
pub(crate) fn flag(meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
    if meta.input.peek(Token![=]) {
        Ok(meta.value()?.parse::<LitBool>()?.value)
    } else {
        Ok(true)
    }
}

/// `key = ["a", "b"]`, `key("a", "b")` or `key = "a"`.
pub(crate) fn strings(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<LitStr>> {
    if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        return Ok(Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?
            .into_iter()
            .collect());
    }
    let value = meta.value()?;
    if value.peek(syn::token::Bracket) {
        let content;
        syn::bracketed!(content in value);
        Ok(Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?
            .into_iter()
            .collect())
    } else {
        Ok(vec![value.parse()?])
    }
}

/// The error for an unknown key: the closest accepted key when one is near, or else all of
/// them.
pub(crate) fn unknown(meta: &ParseNestedMeta<'_>, what: &str, accepted: &[&str]) -> syn::Error {
    let key = key(meta).unwrap_or_else(|| "?".into());
    meta.error(unknown_message(&key, what, accepted))
}

/// The key being parsed, when it is one identifier.
pub(crate) fn key(meta: &ParseNestedMeta<'_>) -> Option<String> {
    meta.path.get_ident().map(ToString::to_string)
}

pub(crate) fn unknown_message(key: &str, what: &str, accepted: &[&str]) -> String {
    match did_you_mean(key, accepted.iter().copied()) {
        Some(close) => format!("unknown {what} option `{key}`; did you mean `{close}`?"),
        None => {
            let list: Vec<String> = accepted.iter().map(|k| format!("`{k}`")).collect();
            format!(
                "unknown {what} option `{key}`; expected one of {}",
                list.join(", ")
            )
        }
    }
}

/// The candidate closest to `word`, if it is close enough to be a typo of it: at most one
/// edit per three characters (so none for words shorter than three).
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = word.chars().count() / 3;
    if limit == 0 {
        return None;
    }
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_ascii_lowercase(), c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, with a swap of two neighbours counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    rows[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// Skips what follows an unknown key so parsing can go on and report more errors.
pub(crate) fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<proc_macro2::TokenStream>()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_key() {
        let keys = ["name", "title", "description", "output_schema"];
        assert_eq!(did_you_mean("nmae", keys), Some("name"));
        assert_eq!(did_you_mean("titel", keys), Some("title"));
        assert_eq!(did_you_mean("descripion", keys), Some("description"));
        assert_eq!(did_you_mean("output-schema", keys), Some("output_schema"));
        assert_eq!(did_you_mean("Name", keys), Some("name"));
        assert_eq!(did_you_mean("color", keys), None);
        assert_eq!(did_you_mean("x", keys), None);
        assert_eq!(did_you_mean("c", ["a", "b"]), None);
    }

    #[test]
    fn the_message_lists_keys_when_nothing_is_close() {
        assert_eq!(
            unknown_message("colour", "`#[prompt]`", &["name", "title"]),
            "unknown `#[prompt]` option `colour`; expected one of `name`, `title`"
        );
        assert_eq!(
            unknown_message("titl", "`#[prompt]`", &["name", "title"]),
            "unknown `#[prompt]` option `titl`; did you mean `title`?"
        );
    }
}
