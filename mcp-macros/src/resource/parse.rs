//! `#[resource(...)]` and `#[arg(...)]` → the resource model.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{ItemFn, Lit, LitStr, Token, Type};

use crate::attr::{self, Slot};
use crate::common::{Common, CommonOptions};
use crate::ctxt::Ctxt;
use crate::docs::{self, Docs};
use crate::param::Param;
use crate::signature::{self, Kind};

pub(crate) const KEYS: &[&str] = &[
    "uri",
    "name",
    "title",
    "description",
    "mime_type",
    "size",
    "annotations",
    "tags",
    "meta",
    "icon",
    "scopes",
    "crate",
    "app",
];
pub(crate) const ANNOTATION_KEYS: &[&str] = &["audience", "priority", "last_modified"];

pub(crate) const KIND: Kind = Kind {
    attr: "`#[resource]`",
    noun: "resource",
    generic_reason: "its parameters are read from the URI",
    return_reason: "the type its contents come from",
    arg_keys: &["description", "default", "rename", "complete"],
};

/// The whole resource, as understood from the attribute and the function.
pub(crate) struct Resource {
    /// The function, with the `#[arg]` attributes removed.
    pub(crate) item: ItemFn,
    /// The URI or template; `None` when missing (an error already recorded).
    pub(crate) uri: Option<LitStr>,
    pub(crate) common: CommonOptions,
    pub(crate) mime_type: Option<LitStr>,
    pub(crate) size: Option<u64>,
    pub(crate) annotations: Annotations,
    pub(crate) params: Vec<Param>,
    pub(crate) docs: Docs,
    pub(crate) output: Option<Type>,
    /// The template's variables, in order; filled in by validation.
    pub(crate) variables: Vec<String>,
}

#[derive(Default)]
pub(crate) struct Annotations {
    pub(crate) audience: Vec<LitStr>,
    pub(crate) priority: Option<f64>,
    pub(crate) last_modified: Option<LitStr>,
}

pub(crate) fn parse(cx: &Ctxt, args: TokenStream, mut item: ItemFn) -> Resource {
    let mut positional = None;
    let mut common = Common::new();
    let mut uri = Slot::new("uri");
    let mut mime_type = Slot::new("mime_type");
    let mut size = Slot::new("size");
    let mut annotations = Slot::new("annotations");
    // MCP Apps: the resource is a view, with its sandbox's policy.
    let mut app = Slot::new("app");
    let options = |input: ParseStream<'_>| -> syn::Result<()> {
        if input.peek(LitStr) {
            positional = Some(input.parse::<LitStr>()?);
            if input.is_empty() {
                return Ok(());
            }
            input.parse::<Token![,]>()?;
        }
        let parser = syn::meta::parser(|meta| {
            let span = meta.path.span();
            if common.parse(cx, &meta)? {
            } else if meta.path.is_ident("uri") {
                uri.set(cx, span, attr::string(&meta)?);
            } else if meta.path.is_ident("mime_type") {
                mime_type.set(cx, span, attr::string(&meta)?);
            } else if meta.path.is_ident("size") {
                let n: syn::LitInt = meta.value()?.parse()?;
                size.set(cx, span, n.base10_parse::<u64>()?);
            } else if meta.path.is_ident("annotations") {
                annotations.set(cx, span, parse_annotations(cx, &meta)?);
            } else if meta.path.is_ident("app") {
                app.set(
                    cx,
                    span,
                    (span, crate::apps::parse_resource_app(cx, &meta)?),
                );
            } else if let Some(annotation) = attr::key(&meta)
                .and_then(|key| attr::did_you_mean(&key, ANNOTATION_KEYS.iter().copied()))
            {
                cx.syn_error(meta.error(format!(
                    "unknown `#[resource]` option `{}`; did you mean `annotations({annotation} = …)`?",
                    attr::key(&meta).unwrap_or_default()
                )));
                attr::skip_value(&meta)?;
            } else {
                cx.syn_error(attr::unknown(&meta, "`#[resource]`", KEYS));
                attr::skip_value(&meta)?;
            }
            Ok(())
        });
        parser.parse2(input.parse::<TokenStream>()?)
    };
    if let Err(e) = options.parse2(args) {
        cx.syn_error(e);
    }
    let uri = match (positional, uri.get()) {
        (Some(u), None) | (None, Some(u)) => Some(u),
        (Some(_), Some(second)) => {
            cx.error_spanned_by(&second, "the URI is given twice");
            Some(second)
        }
        (None, None) => {
            cx.syn_error(syn::Error::new(
                Span::call_site(),
                "`#[resource]` needs a URI: `#[resource(\"config://app\")]`, or a template such as `#[resource(\"users://{id}/profile\")]`",
            ));
            None
        }
    };
    let docs = docs::parse(&item.attrs);
    signature::check_not_associated(cx, &item, &KIND);
    let params = signature::params(cx, &mut item, &KIND);
    let output = signature::output(&item);
    let mut common = common.finish();
    let mut mime_type = mime_type.get();
    if let Some((span, app)) = app.get() {
        if let Some(u) = &uri
            && (!u.value().starts_with("ui://") || u.value().contains('{'))
        {
            cx.error_spanned_by(
                u,
                "an app view (`app`) is a fixed `ui://` resource, e.g. #[resource(\"ui://counter/view.html\", app)]",
            );
        }
        match &mime_type {
            Some(m) if m.value() != crate::apps::MIME_TYPE => cx.error_spanned_by(
                m,
                format!(
                    "an app view's MIME type is `{}`; drop `mime_type`, `app` sets it",
                    crate::apps::MIME_TYPE
                ),
            ),
            Some(_) => {}
            None => mime_type = Some(LitStr::new(crate::apps::MIME_TYPE, span)),
        }
        common.meta = Some(crate::apps::resource_meta(
            cx,
            span,
            common.meta.take(),
            &app,
        ));
    }
    Resource {
        item,
        uri,
        common,
        mime_type,
        size: size.get(),
        annotations: annotations.get().unwrap_or_default(),
        params,
        docs,
        output,
        variables: Vec::new(),
    }
}

fn parse_annotations(cx: &Ctxt, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Annotations> {
    let mut audience = Slot::new("audience");
    let mut priority = Slot::new("priority");
    let mut last_modified = Slot::new("last_modified");
    meta.parse_nested_meta(|m| {
        let span = m.path.span();
        if m.path.is_ident("audience") {
            let roles = attr::strings(&m)?;
            for r in &roles {
                if r.value() != "user" && r.value() != "assistant" {
                    cx.error_spanned_by(r, "an audience is `\"user\"` or `\"assistant\"`");
                }
            }
            audience.set(cx, span, roles);
        } else if m.path.is_ident("priority") {
            let lit: Lit = m.value()?.parse()?;
            let value = match &lit {
                Lit::Float(f) => f.base10_parse::<f64>()?,
                Lit::Int(i) => i.base10_parse::<f64>()?,
                _ => {
                    cx.error_spanned_by(&lit, "`priority` is a number from 0 to 1");
                    return Ok(());
                }
            };
            if !(0.0..=1.0).contains(&value) {
                cx.error_spanned_by(&lit, "`priority` is a number from 0 to 1");
            }
            priority.set(cx, span, value);
        } else if m.path.is_ident("last_modified") {
            last_modified.set(cx, span, attr::string(&m)?);
        } else {
            cx.syn_error(attr::unknown(&m, "`annotations`", ANNOTATION_KEYS));
            attr::skip_value(&m)?;
        }
        Ok(())
    })?;
    Ok(Annotations {
        audience: audience.get().unwrap_or_default(),
        priority: priority.get(),
        last_modified: last_modified.get(),
    })
}
