//! The options every item macro takes (`name`, `title`, `description`, `tags`, `meta`, `icon`,
//! `crate`): their model, their parsing, and the pieces of expansion built from them.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, Lit, LitStr, Token};

use crate::attr::{self, Slot};
use crate::ctxt::Ctxt;
use crate::docs::Docs;

/// The keys [`Common::parse`] understands, for the lists of accepted keys.
pub(crate) const COMMON_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "tags",
    "meta",
    "icon",
    "scopes",
    "crate",
];

const ICON_KEYS: &[&str] = &["src", "mime_type", "sizes", "theme"];

pub(crate) struct Icon {
    pub(crate) src: LitStr,
    pub(crate) mime_type: Option<LitStr>,
    pub(crate) sizes: Vec<LitStr>,
    pub(crate) theme: Option<LitStr>,
}

/// The common options, once parsed.
#[derive(Default)]
pub(crate) struct CommonOptions {
    pub(crate) name: Option<LitStr>,
    pub(crate) title: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    pub(crate) tags: Vec<LitStr>,
    /// `_meta` as JSON text.
    pub(crate) meta: Option<String>,
    pub(crate) icons: Vec<Icon>,
    /// `crate = path`: the crate generated code names instead of `::mcp_runtime`.
    pub(crate) krate: Option<syn::Path>,
    /// `scopes(...)`: the scopes a caller needs; `None` when not given.
    pub(crate) scopes: Option<Vec<LitStr>>,
}

/// The common options while they are parsed: one slot per key.
pub(crate) struct Common {
    name: Slot<LitStr>,
    title: Slot<LitStr>,
    description: Slot<LitStr>,
    tags: Slot<Vec<LitStr>>,
    meta: Slot<String>,
    icons: Vec<Icon>,
    krate: Slot<syn::Path>,
    scopes: Slot<Vec<LitStr>>,
}

impl Common {
    pub(crate) fn new() -> Self {
        Common {
            name: Slot::new("name"),
            title: Slot::new("title"),
            description: Slot::new("description"),
            tags: Slot::new("tags"),
            meta: Slot::new("meta"),
            icons: Vec::new(),
            krate: Slot::new("crate"),
            scopes: Slot::new("scopes"),
        }
    }

    /// Parses a common option; `false` when the key is not one.
    pub(crate) fn parse(
        &mut self,
        cx: &Ctxt,
        meta: &syn::meta::ParseNestedMeta<'_>,
    ) -> syn::Result<bool> {
        let span = meta.path.span();
        if meta.path.is_ident("name") {
            self.name.set(cx, span, attr::string(meta)?);
        } else if meta.path.is_ident("title") {
            self.title.set(cx, span, attr::string(meta)?);
        } else if meta.path.is_ident("description") {
            self.description.set(cx, span, attr::string(meta)?);
        } else if meta.path.is_ident("tags") {
            self.tags.set(cx, span, attr::strings(meta)?);
        } else if meta.path.is_ident("meta") {
            let content;
            syn::parenthesized!(content in meta.input);
            self.meta.set(cx, span, parse_meta_object(cx, &content)?);
        } else if meta.path.is_ident("icon") {
            if let Some(icon) = parse_icon(cx, meta)? {
                self.icons.push(icon);
            }
        } else if meta.path.is_ident("scopes") {
            let scopes = attr::strings(meta)?;
            check_scopes(cx, &scopes);
            self.scopes.set(cx, span, scopes);
        } else if meta.path.is_ident("crate") {
            let value = meta.value()?;
            let path = if value.peek(LitStr) {
                value.parse::<LitStr>()?.parse::<syn::Path>()?
            } else {
                value.call(syn::Path::parse_mod_style)?
            };
            self.krate.set(cx, span, path);
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    pub(crate) fn finish(self) -> CommonOptions {
        CommonOptions {
            name: self.name.get(),
            title: self.title.get(),
            description: self.description.get(),
            tags: self.tags.get().unwrap_or_default(),
            meta: self.meta.get(),
            icons: self.icons,
            krate: self.krate.get(),
            scopes: self.scopes.get(),
        }
    }
}

/// Scopes as OAuth allows them (RFC 6749: visible ASCII but `"` and `\`, no spaces), each
/// once.
fn check_scopes(cx: &Ctxt, scopes: &[LitStr]) {
    let mut seen: Vec<String> = Vec::new();
    for scope in scopes {
        let value = scope.value();
        if value.is_empty() {
            cx.error_spanned_by(scope, "a scope cannot be empty");
        } else if let Some(c) = value
            .chars()
            .find(|&c| !matches!(c as u32, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
        {
            cx.error_spanned_by(
                scope,
                format!(
                    "a scope cannot contain {c:?}: scopes are visible ASCII without spaces, `\"` or `\\` (RFC 6749)"
                ),
            );
        } else if seen.contains(&value) {
            cx.error_spanned_by(scope, format!("duplicate scope `{value}`"));
        } else {
            seen.push(value);
        }
    }
}

/// `icon = "src"` or `icon(src = "…", mime_type = "…", sizes = […], theme = "…")`; `None`
/// (with the error recorded) when `src` is missing.
fn parse_icon(cx: &Ctxt, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Option<Icon>> {
    if meta.input.peek(Token![=]) {
        return Ok(Some(Icon {
            src: attr::string(meta)?,
            mime_type: None,
            sizes: Vec::new(),
            theme: None,
        }));
    }
    let mut src = Slot::new("src");
    let mut mime_type = Slot::new("mime_type");
    let mut sizes = Slot::new("sizes");
    let mut theme = Slot::new("theme");
    meta.parse_nested_meta(|m| {
        let span = m.path.span();
        if m.path.is_ident("src") {
            src.set(cx, span, attr::string(&m)?);
        } else if m.path.is_ident("mime_type") {
            mime_type.set(cx, span, attr::string(&m)?);
        } else if m.path.is_ident("sizes") {
            sizes.set(cx, span, attr::strings(&m)?);
        } else if m.path.is_ident("theme") {
            let t = attr::string(&m)?;
            if t.value() != "light" && t.value() != "dark" {
                cx.error_spanned_by(&t, "an icon's `theme` is `\"light\"` or `\"dark\"`");
            }
            theme.set(cx, span, t);
        } else {
            cx.syn_error(attr::unknown(&m, "`icon`", ICON_KEYS));
            attr::skip_value(&m)?;
        }
        Ok(())
    })?;
    let Some(src) = src.get() else {
        cx.syn_error(meta.error("an `icon(...)` needs `src = \"https://…\"`"));
        return Ok(None);
    };
    Ok(Some(Icon {
        src,
        mime_type: mime_type.get(),
        sizes: sizes.get().unwrap_or_default(),
        theme: theme.get(),
    }))
}

/// `meta(key = "value", "io.example/key" = 1, flag = true)` → JSON object text. A duplicate
/// key is recorded at its second occurrence and parsing goes on.
fn parse_meta_object(cx: &Ctxt, input: ParseStream<'_>) -> syn::Result<String> {
    let entries =
        Punctuated::<(String, Span, String), Token![,]>::parse_terminated_with(input, |input| {
            let (key, span) = if input.peek(LitStr) {
                let s: LitStr = input.parse()?;
                (s.value(), s.span())
            } else {
                let i: Ident = input.call(syn::ext::IdentExt::parse_any)?;
                (syn::ext::IdentExt::unraw(&i).to_string(), i.span())
            };
            input.parse::<Token![=]>()?;
            let negative = input.parse::<Option<Token![-]>>()?.is_some();
            if !input.peek(Lit) {
                return Err(
                    input.error("`meta` values are string, integer, float or boolean literals")
                );
            }
            let lit: Lit = input.parse()?;
            let sign = if negative { "-" } else { "" };
            let value = match (&lit, negative) {
                (Lit::Str(s), false) => json_string(&s.value()),
                (Lit::Bool(b), false) => b.value.to_string(),
                (Lit::Int(i), _) => format!("{sign}{}", i.base10_digits()),
                (Lit::Float(f), _) => format!("{sign}{}", f.base10_digits()),
                _ => {
                    return Err(syn::Error::new(
                        lit.span(),
                        "`meta` values are string, integer, float or boolean literals",
                    ));
                }
            };
            Ok((key, span, value))
        })?;
    let mut keys: Vec<String> = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    for (key, span, value) in entries {
        if keys.contains(&key) {
            cx.syn_error(syn::Error::new(
                span,
                format!("duplicate `meta` key `{key}`"),
            ));
            continue;
        }
        fields.push(format!("{}:{value}", json_string(&key)));
        keys.push(key);
    }
    Ok(format!("{{{}}}", fields.join(",")))
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------- expansion pieces

pub(crate) fn opt_str(s: &Option<LitStr>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

/// The item's name: given, or the function's.
pub(crate) fn name(options: &CommonOptions, item: &ItemFn) -> String {
    match &options.name {
        Some(n) => n.value(),
        None => item
            .sig
            .ident
            .to_string()
            .trim_start_matches("r#")
            .to_string(),
    }
}

/// The description: given, or from the doc comment.
pub(crate) fn description(options: &CommonOptions, docs: &Docs) -> TokenStream {
    match (&options.description, &docs.description) {
        (Some(d), _) => quote!(::core::option::Option::Some(#d)),
        (None, Some(d)) => quote!(::core::option::Option::Some(#d)),
        (None, None) => quote!(::core::option::Option::None),
    }
}

pub(crate) fn meta(options: &CommonOptions) -> TokenStream {
    match &options.meta {
        Some(m) => quote!(::core::option::Option::Some(#m)),
        None => quote!(::core::option::Option::None),
    }
}

/// `scopes`: `Some(&[…])` when given, `None` (the server's default) otherwise.
pub(crate) fn scopes(options: &CommonOptions) -> TokenStream {
    match &options.scopes {
        Some(s) => quote!(::core::option::Option::Some(&[#(#s),*])),
        None => quote!(::core::option::Option::None),
    }
}

pub(crate) fn icons(mcp: &TokenStream, options: &CommonOptions) -> TokenStream {
    let icons = options.icons.iter().map(|i| {
        let src = &i.src;
        let mime = opt_str(&i.mime_type);
        let theme = opt_str(&i.theme);
        let sizes = &i.sizes;
        quote!(#mcp::Icon { src: #src, mime_type: #mime, sizes: &[#(#sizes),*], theme: #theme })
    });
    quote!(&[#(#icons),*])
}
