//! `#[resource("uri", …)]`: a fixed resource, or a template whose variables bind to the
//! function's parameters by name.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{ItemFn, Lit, LitStr, ReturnType, Token, Type};

use crate::attr::{self, Slot};
use crate::ctxt::{Ctxt, fallback};
use crate::docs::{self, Docs};
use crate::item::{self, Common, CommonOptions, Kind, Param};
use crate::paths;

const KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "mime_type",
    "size",
    "annotations",
    "tags",
    "meta",
    "icon",
];
const ANNOTATION_KEYS: &[&str] = &["audience", "priority", "last_modified"];

const KIND: Kind = Kind {
    attr: "`#[resource]`",
    noun: "resource",
    generic_reason: "its parameters are read from the URI",
    return_reason: "the type its contents come from",
    arg_keys: &["description", "default", "rename", "complete"],
};

struct Resource {
    item: ItemFn,
    uri: LitStr,
    /// Template variables, in order.
    variables: Vec<String>,
    common: CommonOptions,
    mime_type: Option<LitStr>,
    size: Option<u64>,
    annotations: Annotations,
    params: Vec<Param>,
    docs: Docs,
    output: Option<Type>,
}

#[derive(Default)]
struct Annotations {
    audience: Vec<LitStr>,
    priority: Option<f64>,
    last_modified: Option<LitStr>,
}

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: ItemFn = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let err = syn::Error::new(
                Span::call_site(),
                "`#[resource]` goes on a function: `#[resource(\"scheme://path/{id}\")] fn name(id: u64) -> String { … }`",
            );
            return fallback(input, err);
        }
    };
    let cx = Ctxt::new();
    let mut resource = parse(&cx, args, item);
    validate(&cx, &mut resource);
    match cx.check() {
        Ok(()) => generate(&resource),
        Err(err) => {
            let item = &resource.item;
            fallback(quote!(#item), err)
        }
    }
}

fn parse(cx: &Ctxt, args: TokenStream, mut item: ItemFn) -> Resource {
    let mut uri = None;
    let mut common = Common::new();
    let mut mime_type = Slot::new("mime_type");
    let mut size = Slot::new("size");
    let mut annotations = Slot::new("annotations");
    let mut uri_slot = Slot::new("uri");
    let options = |input: ParseStream<'_>| -> syn::Result<()> {
        if input.peek(LitStr) {
            uri = Some(input.parse::<LitStr>()?);
            if input.is_empty() {
                return Ok(());
            }
            input.parse::<Token![,]>()?;
        }
        let parser = syn::meta::parser(|meta| {
            let span = meta.path.span();
            if common.parse(cx, &meta)? {
            } else if meta.path.is_ident("uri") {
                uri_slot.set(cx, span, attr::string(&meta)?);
            } else if meta.path.is_ident("mime_type") {
                mime_type.set(cx, span, attr::string(&meta)?);
            } else if meta.path.is_ident("size") {
                let n: syn::LitInt = meta.value()?.parse()?;
                size.set(cx, span, n.base10_parse::<u64>()?);
            } else if meta.path.is_ident("annotations") {
                annotations.set(cx, span, parse_annotations(cx, &meta)?);
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
    let uri = match (uri, uri_slot.get()) {
        (Some(u), None) | (None, Some(u)) => u,
        (Some(_), Some(second)) => {
            cx.error_spanned_by(&second, "the URI is given twice");
            second
        }
        (None, None) => {
            cx.syn_error(syn::Error::new(
                Span::call_site(),
                "`#[resource]` needs a URI: `#[resource(\"config://app\")]`, or a template such as `#[resource(\"users://{id}/profile\")]`",
            ));
            LitStr::new("invalid://", Span::call_site())
        }
    };
    let variables = template_variables(cx, &uri);
    let docs = docs::parse(&item.attrs);
    let params = item::params(cx, &mut item, &KIND);
    let output = match &item.sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    Resource {
        item,
        uri,
        variables,
        common: common.finish(),
        mime_type: mime_type.get(),
        size: size.get(),
        annotations: annotations.get().unwrap_or_default(),
        params,
        docs,
        output,
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
                    return Err(syn::Error::new(
                        lit.span(),
                        "`priority` is a number from 0 to 1",
                    ));
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

/// The variables of an RFC 6570 template; errors for malformed ones point at the literal.
fn template_variables(cx: &Ctxt, uri: &LitStr) -> Vec<String> {
    let text = uri.value();
    let fail = |msg: String| {
        cx.error_spanned_by(uri, msg);
        Vec::new()
    };
    let scheme_end = text.find(':');
    let valid_scheme = scheme_end.is_some_and(|i| {
        i > 0
            && text[..i].starts_with(|c: char| c.is_ascii_alphabetic())
            && text[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !valid_scheme {
        return fail(format!(
            "`{text}` is not a URI: it needs a scheme, such as `file:///{text}` or `config://{text}`"
        ));
    }
    let mut vars = Vec::new();
    let mut rest = text.as_str();
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return fail(format!("unmatched `}}` in the URI template `{text}`"));
        }
        let Some(close) = rest[open..].find('}') else {
            return fail(format!("unclosed `{{` in the URI template `{text}`"));
        };
        let expr = &rest[open + 1..open + close];
        let body = expr
            .strip_prefix(['+', '#', '.', '/', ';', '?', '&'])
            .unwrap_or(expr);
        if body.is_empty() {
            return fail(format!(
                "empty expression `{{{expr}}}` in the URI template `{text}`"
            ));
        }
        for spec in body.split(',') {
            let name = spec.strip_suffix('*').unwrap_or(spec);
            let name = match name.split_once(':') {
                Some((n, len)) if !len.is_empty() && len.chars().all(|c| c.is_ascii_digit()) => n,
                Some(_) => {
                    return fail(format!(
                        "`{spec}` in the URI template `{text}`: a prefix modifier is `{{name:3}}`"
                    ));
                }
                None => name,
            };
            let valid = !name.is_empty()
                && name.split('.').all(|part| {
                    !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            if !valid {
                return fail(format!(
                    "`{spec}` in the URI template `{text}` is not a variable name (letters, digits and `_`)"
                ));
            }
            if vars.iter().any(|v| v == name) {
                return fail(format!("the variable `{name}` appears twice in `{text}`"));
            }
            vars.push(name.to_string());
        }
        rest = &rest[open + close + 1..];
    }
    vars
}

fn validate(cx: &Ctxt, r: &mut Resource) {
    item::check_name(cx, r.common.name.as_ref(), &KIND);
    item::check_signature(cx, &r.item.sig, r.output.as_ref(), &KIND);
    item::check_params(cx, &r.params, &KIND);
    let fn_name = r.item.sig.ident.to_string();
    item::attach_argument_docs(cx, &r.docs, &mut r.params, &fn_name);
    if r.output.is_none() {
        cx.error_spanned_by(
            &r.item.sig,
            "a `#[resource]` function returns the contents: `String`, `Vec<u8>`, `Json<T>`, `ResourceContents`, or a `Result` of one",
        );
    }
    for v in &r.variables {
        if !r.params.iter().any(|p| &p.name == v) {
            cx.error_spanned_by(
                &r.uri,
                format!(
                    "the URI template variable `{v}` has no parameter: add `{v}: String` (or another type that deserializes from text) to `{fn_name}`"
                ),
            );
        }
    }
    for p in &r.params {
        let is_var = r.variables.contains(&p.name);
        if !is_var && let Some(c) = &p.complete {
            cx.error_spanned_by(
                c,
                format!(
                    "`complete` suggests values for template variables, and `{}` is not a variable of `{}`",
                    p.name,
                    r.uri.value()
                ),
            );
        }
        if !is_var && p.default.is_some() {
            cx.syn_error(syn::Error::new(
                p.span,
                format!(
                    "`default` is for template variables, and `{}` is not a variable of `{}`",
                    p.name,
                    r.uri.value()
                ),
            ));
        }
    }
}

fn generate(r: &Resource) -> TokenStream {
    let mcp = paths::private();
    let item = &r.item;
    let uri = &r.uri;
    let name = item::name(&r.common, item);
    let title = item::opt_str(&r.common.title);
    let description = item::description(&r.common, &r.docs);
    let tags = &r.common.tags;
    let meta = item::meta(&r.common);
    let icons = item::icons(&mcp, &r.common);
    let ret = r.output.as_ref().expect("validated");
    let ret_span = ret.span();
    let mime_type = match &r.mime_type {
        Some(m) => quote!(::core::option::Option::Some(#m)),
        None => quote_spanned!(ret_span=> <#ret as #mcp::ResourceOutput>::MIME_TYPE),
    };
    let size = match r.size {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let audience = r.annotations.audience.iter().map(|a| {
        if a.value() == "user" {
            quote!(#mcp::Role::User)
        } else {
            quote!(#mcp::Role::Assistant)
        }
    });
    let priority = match r.annotations.priority {
        Some(p) => quote!(::core::option::Option::Some(#p)),
        None => quote!(::core::option::Option::None),
    };
    let last_modified = item::opt_str(&r.annotations.last_modified);

    let mut items = Vec::new();
    let mut extracts = Vec::new();
    let mut vars = Vec::new();
    let mut variable_specs = Vec::new();
    for (i, p) in r.params.iter().enumerate() {
        let ty = &p.ty;
        let t = item::arg_tokens(&mcp, i, p, false);
        let (spec, var, default_fn) = (&t.spec, &t.var, &t.default_fn);
        items.push(t.spec_static.clone());
        items.extend(t.default_item.clone());
        items.extend(t.complete_item.clone());
        if r.variables.contains(&p.name) {
            variable_specs.push((r.variables.iter().position(|v| v == &p.name), spec.clone()));
            extracts.push(quote_spanned! {ty.span()=>
                let #var = __mcp_read.variable::<#ty>(&#spec, #default_fn);
            });
        } else {
            extracts.push(quote_spanned! {ty.span()=>
                let #var = #mcp::resource_extractor::<#ty>(&mut __mcp_read, &#spec);
            });
        }
        vars.push(t.var);
    }
    variable_specs.sort_by_key(|(pos, _)| *pos);
    let variable_specs = variable_specs.into_iter().map(|(_, s)| s);

    let future = quote!(#mcp::ResourceFuture);
    let handler = item::Handler {
        input: format_ident!("__mcp_read"),
        input_ty: quote!(#mcp::ResourceRead<'_>),
        run: item::run_converted(&future, item, ret, &vars),
        future,
        extracts: &extracts,
        vars: &vars,
        prepare: quote!(let __mcp_target = __mcp_read.target();),
    }
    .tokens();

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            #[allow(unused_imports)]
            use #mcp::{PendingCompletion as _, ReadyCompletion as _};

            #(#items)*

            #handler

            #mcp::inventory::submit! {
                #mcp::ResourceDef {
                    uri: #uri,
                    name: #name,
                    title: #title,
                    description: #description,
                    mime_type: #mime_type,
                    size: #size,
                    annotations: #mcp::ResourceAnnotations {
                        audience: &[#(#audience),*],
                        priority: #priority,
                        last_modified: #last_modified,
                    },
                    icons: #icons,
                    meta: #meta,
                    tags: &[#(#tags),*],
                    module_path: ::core::module_path!(),
                    location: (::core::file!(), ::core::line!()),
                    variables: &[#(&#variable_specs),*],
                    handler: __mcp_handler,
                }
            }
        };
    }
}
