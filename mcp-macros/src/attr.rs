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

/// The error for an unknown key, listing the accepted ones.
pub(crate) fn unknown(meta: &ParseNestedMeta<'_>, what: &str, accepted: &[&str]) -> syn::Error {
    let key = meta
        .path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| "?".into());
    let list: Vec<String> = accepted.iter().map(|k| format!("`{k}`")).collect();
    meta.error(format!(
        "unknown {what} option `{key}`; expected one of {}",
        list.join(", ")
    ))
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
