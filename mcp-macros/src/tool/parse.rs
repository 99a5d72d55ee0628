//! `#[tool(...)]` and `#[arg(...)]` → the tool model.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, FnArg, Ident, ItemFn, Lit, LitStr, Pat, ReturnType, Token, Type};

use crate::attr::{self, Slot};
use crate::ctxt::Ctxt;
use crate::docs::{self, Docs};

pub(crate) const TOOL_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "tags",
    "meta",
    "icon",
    "annotations",
    "output_schema",
    "blocking",
];
pub(crate) const ANNOTATION_KEYS: &[&str] = &[
    "title",
    "read_only",
    "destructive",
    "idempotent",
    "open_world",
];
pub(crate) const ICON_KEYS: &[&str] = &["src", "mime_type", "sizes", "theme"];
pub(crate) const ARG_KEYS: &[&str] = &["description", "default", "rename"];

/// The whole tool, as understood from the attribute and the function.
pub(crate) struct Tool {
    /// The function, with the `#[arg]` attributes removed.
    pub(crate) item: ItemFn,
    pub(crate) options: Options,
    pub(crate) params: Vec<Param>,
    pub(crate) docs: Docs,
    /// The declared return type; `None` for `()`.
    pub(crate) output: Option<Type>,
}

#[derive(Default)]
pub(crate) struct Options {
    pub(crate) name: Option<LitStr>,
    pub(crate) title: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    pub(crate) tags: Vec<LitStr>,
    /// `_meta` as JSON text.
    pub(crate) meta: Option<String>,
    pub(crate) icons: Vec<Icon>,
    pub(crate) annotations: Annotations,
    pub(crate) output_schema: bool,
    pub(crate) blocking: bool,
}

#[derive(Default)]
pub(crate) struct Annotations {
    pub(crate) title: Option<LitStr>,
    pub(crate) read_only: Option<bool>,
    pub(crate) destructive: Option<bool>,
    pub(crate) idempotent: Option<bool>,
    pub(crate) open_world: Option<bool>,
}

pub(crate) struct Icon {
    pub(crate) src: LitStr,
    pub(crate) mime_type: Option<LitStr>,
    pub(crate) sizes: Vec<LitStr>,
    pub(crate) theme: Option<LitStr>,
}

pub(crate) struct Param {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    /// The name on the wire.
    pub(crate) name: String,
    pub(crate) rename: Option<LitStr>,
    pub(crate) description: Option<String>,
    pub(crate) default: Option<Default>,
    pub(crate) span: Span,
}

pub(crate) enum Default {
    /// `#[arg(default)]`: `Default::default()`.
    Trait,
    /// `#[arg(default = expr)]`.
    Expr(Expr),
}

pub(crate) fn parse(cx: &Ctxt, args: TokenStream, mut item: ItemFn) -> Tool {
    let options = parse_options(cx, args);
    let docs = docs::parse(&item.attrs);
    let mut params = Vec::new();
    for input in item.sig.inputs.iter_mut() {
        match input {
            FnArg::Receiver(r) => cx.error_spanned_by(
                &*r,
                "`#[tool]` functions cannot take `self`; write a free function (shared state comes in through extractors)",
            ),
            FnArg::Typed(pt) => {
                let arg_attrs: Vec<_> = pt
                    .attrs
                    .iter()
                    .filter(|a| a.path().is_ident("arg"))
                    .cloned()
                    .collect();
                pt.attrs.retain(|a| !a.path().is_ident("arg"));
                let ident = match &*pt.pat {
                    Pat::Ident(p) if p.subpat.is_none() => p.ident.clone(),
                    other => {
                        cx.error_spanned_by(
                            other,
                            "tool parameters must be plain names, such as `city: String`; the name is the argument's name",
                        );
                        continue;
                    }
                };
                let mut param = Param {
                    name: ident.to_string().trim_start_matches("r#").to_string(),
                    ident,
                    ty: (*pt.ty).clone(),
                    rename: None,
                    description: None,
                    default: None,
                    span: pt.span(),
                };
                for a in &arg_attrs {
                    parse_arg(cx, a, &mut param);
                }
                params.push(param);
            }
        }
    }
    let output = match &item.sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    Tool {
        item,
        options,
        params,
        docs,
        output,
    }
}

fn parse_options(cx: &Ctxt, args: TokenStream) -> Options {
    let mut name = Slot::new("name");
    let mut title = Slot::new("title");
    let mut description = Slot::new("description");
    let mut tags = Slot::new("tags");
    let mut meta_slot = Slot::new("meta");
    let mut annotations = Slot::new("annotations");
    let mut output_schema = Slot::new("output_schema");
    let mut blocking = Slot::new("blocking");
    let mut icons = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let span = meta.path.span();
        if meta.path.is_ident("name") {
            name.set(cx, span, attr::string(&meta)?);
        } else if meta.path.is_ident("title") {
            title.set(cx, span, attr::string(&meta)?);
        } else if meta.path.is_ident("description") {
            description.set(cx, span, attr::string(&meta)?);
        } else if meta.path.is_ident("tags") {
            tags.set(cx, span, attr::strings(&meta)?);
        } else if meta.path.is_ident("meta") {
            let content;
            syn::parenthesized!(content in meta.input);
            meta_slot.set(cx, span, parse_meta_object(&content)?);
        } else if meta.path.is_ident("icon") {
            icons.push(parse_icon(cx, &meta)?);
        } else if meta.path.is_ident("annotations") {
            annotations.set(cx, span, parse_annotations(cx, &meta)?);
        } else if meta.path.is_ident("output_schema") {
            output_schema.set(cx, span, attr::flag(&meta)?);
        } else if meta.path.is_ident("blocking") {
            blocking.set(cx, span, attr::flag(&meta)?);
        } else {
            cx.syn_error(attr::unknown(&meta, "`#[tool]`", TOOL_KEYS));
            attr::skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        cx.syn_error(e);
    }
    Options {
        name: name.get(),
        title: title.get(),
        description: description.get(),
        tags: tags.get().unwrap_or_default(),
        meta: meta_slot.get(),
        icons,
        annotations: annotations.get().unwrap_or_default(),
        output_schema: output_schema.get().unwrap_or(true),
        blocking: blocking.get().unwrap_or(false),
    }
}

fn parse_annotations(cx: &Ctxt, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Annotations> {
    let mut title = Slot::new("title");
    let mut read_only = Slot::new("read_only");
    let mut destructive = Slot::new("destructive");
    let mut idempotent = Slot::new("idempotent");
    let mut open_world = Slot::new("open_world");
    meta.parse_nested_meta(|m| {
        let span = m.path.span();
        if m.path.is_ident("title") {
            title.set(cx, span, attr::string(&m)?);
        } else if m.path.is_ident("read_only") {
            read_only.set(cx, span, attr::flag(&m)?);
        } else if m.path.is_ident("destructive") {
            destructive.set(cx, span, attr::flag(&m)?);
        } else if m.path.is_ident("idempotent") {
            idempotent.set(cx, span, attr::flag(&m)?);
        } else if m.path.is_ident("open_world") {
            open_world.set(cx, span, attr::flag(&m)?);
        } else {
            cx.syn_error(attr::unknown(&m, "`annotations`", ANNOTATION_KEYS));
            attr::skip_value(&m)?;
        }
        Ok(())
    })?;
    Ok(Annotations {
        title: title.get(),
        read_only: read_only.get(),
        destructive: destructive.get(),
        idempotent: idempotent.get(),
        open_world: open_world.get(),
    })
}

fn parse_icon(cx: &Ctxt, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Icon> {
    if meta.input.peek(Token![=]) {
        return Ok(Icon {
            src: attr::string(meta)?,
            mime_type: None,
            sizes: Vec::new(),
            theme: None,
        });
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
        return Err(meta.error("an `icon(...)` needs `src = \"https://…\"`"));
    };
    Ok(Icon {
        src,
        mime_type: mime_type.get(),
        sizes: sizes.get().unwrap_or_default(),
        theme: theme.get(),
    })
}

/// `meta(key = "value", "io.example/key" = 1, flag = true)` → JSON object text.
fn parse_meta_object(input: ParseStream<'_>) -> syn::Result<String> {
    let mut out = String::from("{");
    let mut keys: Vec<String> = Vec::new();
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
            let value = match (&lit, negative) {
                (Lit::Str(s), false) => json_string(&s.value()),
                (Lit::Bool(b), false) => b.value.to_string(),
                (Lit::Int(i), _) => {
                    format!("{}{}", if negative { "-" } else { "" }, i.base10_digits())
                }
                (Lit::Float(f), _) => {
                    format!("{}{}", if negative { "-" } else { "" }, f.base10_digits())
                }
                _ => {
                    return Err(syn::Error::new(
                        lit.span(),
                        "`meta` values are string, integer, float or boolean literals",
                    ));
                }
            };
            Ok((key, span, value))
        })?;
    for (i, (key, span, value)) in entries.into_iter().enumerate() {
        if keys.contains(&key) {
            return Err(syn::Error::new(
                span,
                format!("duplicate `meta` key `{key}`"),
            ));
        }
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json_string(&key));
        out.push(':');
        out.push_str(&value);
        keys.push(key);
    }
    out.push('}');
    Ok(out)
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

fn parse_arg(cx: &Ctxt, a: &syn::Attribute, param: &mut Param) {
    let mut description = Slot::new("description");
    let mut default = Slot::new("default");
    let mut rename = Slot::new("rename");
    let result = a.parse_nested_meta(|meta| {
        let span = meta.path.span();
        if meta.path.is_ident("description") {
            description.set(cx, span, attr::string(&meta)?);
        } else if meta.path.is_ident("default") {
            let d = if meta.input.peek(Token![=]) {
                Default::Expr(meta.value()?.parse()?)
            } else {
                Default::Trait
            };
            default.set(cx, span, d);
        } else if meta.path.is_ident("rename") {
            rename.set(cx, span, attr::string(&meta)?);
        } else {
            cx.syn_error(attr::unknown(&meta, "`#[arg]`", ARG_KEYS));
            attr::skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        cx.syn_error(e);
    }
    if let Some(d) = description.get() {
        param.description = Some(d.value());
    }
    param.default = default.get();
    if let Some(r) = rename.get() {
        param.name = r.value();
        param.rename = Some(r);
    }
}
