//! What `#[tool]`, `#[resource]` and `#[prompt]` share: parameters and `#[arg]`, the common
//! options (name, title, description, tags, meta, icons), signature checks, and the pieces of
//! expansion built from them.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, ExprLit, FnArg, Ident, ItemFn, Lit, LitStr, Pat, Token, Type};

use crate::attr::{self, Slot};
use crate::ctxt::Ctxt;
use crate::docs::Docs;

/// Words for messages, per macro.
pub(crate) struct Kind {
    /// `` `#[tool]` ``.
    pub(crate) attr: &'static str,
    /// "tool".
    pub(crate) noun: &'static str,
    /// Why the function cannot be generic.
    pub(crate) generic_reason: &'static str,
    /// What an `impl Trait` return would hide.
    pub(crate) return_reason: &'static str,
    /// The `#[arg]` keys accepted.
    pub(crate) arg_keys: &'static [&'static str],
}

pub(crate) struct Param {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    /// The name on the wire.
    pub(crate) name: String,
    pub(crate) rename: Option<LitStr>,
    pub(crate) description: Option<String>,
    pub(crate) default: Option<Default>,
    /// `#[arg(complete = path)]`.
    pub(crate) complete: Option<syn::Path>,
    /// `#[arg(header = "Name")]`: mirrored into the HTTP header `Mcp-Param-Name`.
    pub(crate) header: Option<LitStr>,
    pub(crate) span: Span,
}

pub(crate) enum Default {
    /// `#[arg(default)]`: `Default::default()`.
    Trait,
    /// `#[arg(default = expr)]`.
    Expr(Expr),
}

pub(crate) struct Icon {
    pub(crate) src: LitStr,
    pub(crate) mime_type: Option<LitStr>,
    pub(crate) sizes: Vec<LitStr>,
    pub(crate) theme: Option<LitStr>,
}

pub(crate) const ICON_KEYS: &[&str] = &["src", "mime_type", "sizes", "theme"];

/// Options every item macro takes.
pub(crate) struct Common {
    pub(crate) name: Slot<LitStr>,
    pub(crate) title: Slot<LitStr>,
    pub(crate) description: Slot<LitStr>,
    pub(crate) tags: Slot<Vec<LitStr>>,
    /// `_meta` as JSON text.
    pub(crate) meta: Slot<String>,
    pub(crate) icons: Vec<Icon>,
}

/// The common options, once parsed.
#[derive(Default)]
pub(crate) struct CommonOptions {
    pub(crate) name: Option<LitStr>,
    pub(crate) title: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    pub(crate) tags: Vec<LitStr>,
    pub(crate) meta: Option<String>,
    pub(crate) icons: Vec<Icon>,
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
            self.meta.set(cx, span, parse_meta_object(&content)?);
        } else if meta.path.is_ident("icon") {
            self.icons.push(parse_icon(cx, meta)?);
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
        }
    }
}

/// The function's parameters, with their `#[arg]` attributes read and removed.
pub(crate) fn params(cx: &Ctxt, item: &mut ItemFn, kind: &Kind) -> Vec<Param> {
    let mut params = Vec::new();
    for input in item.sig.inputs.iter_mut() {
        match input {
            FnArg::Receiver(r) => cx.error_spanned_by(
                &*r,
                format!(
                    "{} functions cannot take `self`; write a free function (shared state comes in through extractors)",
                    kind.attr
                ),
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
                            format!(
                                "{} parameters must be plain names, such as `city: String`; the name is the argument's name",
                                kind.noun
                            ),
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
                    complete: None,
                    header: None,
                    span: pt.span(),
                };
                for a in &arg_attrs {
                    parse_arg(cx, a, &mut param, kind.arg_keys);
                }
                params.push(param);
            }
        }
    }
    params
}

fn parse_arg(cx: &Ctxt, a: &syn::Attribute, param: &mut Param, keys: &[&str]) {
    let mut description = Slot::new("description");
    let mut default = Slot::new("default");
    let mut rename = Slot::new("rename");
    let mut complete = Slot::new("complete");
    let mut header = Slot::new("header");
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
        } else if meta.path.is_ident("complete") && keys.contains(&"complete") {
            complete.set(cx, span, meta.value()?.parse::<syn::Path>()?);
        } else if meta.path.is_ident("header") && keys.contains(&"header") {
            header.set(cx, span, attr::string(&meta)?);
        } else {
            cx.syn_error(attr::unknown(&meta, "`#[arg]`", keys));
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
    param.complete = complete.get();
    param.header = header.get();
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

/// A name clients call the item by: 1 to 128 of `[A-Za-z0-9_.-]`.
pub(crate) fn check_name(cx: &Ctxt, name: Option<&LitStr>, kind: &Kind) {
    let Some(lit) = name else { return };
    let (name, span) = (lit.value(), lit.span());
    if name.is_empty() || name.len() > 128 {
        cx.syn_error(syn::Error::new(
            span,
            format!("a {} name has 1 to 128 characters", kind.noun),
        ));
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        cx.syn_error(syn::Error::new(
            span,
            format!(
                "a {} name uses only ASCII letters, digits, `_`, `-` and `.`; found {c:?}",
                kind.noun
            ),
        ));
    }
}

pub(crate) fn check_signature(cx: &Ctxt, sig: &syn::Signature, output: Option<&Type>, kind: &Kind) {
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &sig.generics,
            format!(
                "{} functions cannot be generic: {}",
                kind.attr, kind.generic_reason
            ),
        );
    }
    if let syn::Safety::Unsafe(token) = &sig.safety {
        cx.error_spanned_by(
            token,
            format!(
                "{} functions cannot be `unsafe`: clients call them with arbitrary input",
                kind.attr
            ),
        );
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned_by(v, format!("{} functions cannot be variadic", kind.attr));
    }
    if let Some(ty) = output
        && contains_impl_trait(ty)
    {
        cx.error_spanned_by(
            ty,
            format!(
                "{} functions must name their return type; `impl Trait` hides {}",
                kind.attr, kind.return_reason
            ),
        );
    }
}

pub(crate) fn check_params(cx: &Ctxt, params: &[Param], kind: &Kind) {
    let mut seen: Vec<&str> = Vec::new();
    for p in params {
        if let Some(r) = find_reference(&p.ty) {
            let hint = match &*r.elem {
                Type::Path(tp) if tp.path.is_ident("str") => "; use `String`",
                Type::Slice(_) => "; use a `Vec`",
                _ => "",
            };
            cx.error_spanned_by(
                r,
                format!(
                    "{} parameters take owned values, not references{hint}",
                    kind.noun
                ),
            );
        } else if contains_impl_trait(&p.ty) {
            cx.error_spanned_by(
                &p.ty,
                format!(
                    "{} parameters need a concrete type, not `impl Trait`",
                    kind.noun
                ),
            );
        }
        if seen.contains(&p.name.as_str()) {
            match &p.rename {
                Some(r) => cx.error_spanned_by(r, format!("two arguments are named `{}`", p.name)),
                None => cx.syn_error(syn::Error::new(
                    p.span,
                    format!("two arguments are named `{}`", p.name),
                )),
            }
        }
        seen.push(&p.name);
    }
}

/// Gives parameters the descriptions of a rustdoc `# Arguments` list.
pub(crate) fn attach_argument_docs(cx: &Ctxt, docs: &Docs, params: &mut [Param], fn_name: &str) {
    for (name, desc, span) in &docs.arguments {
        let param = params
            .iter_mut()
            .find(|p| p.ident == name.as_str() || p.name == *name);
        match param {
            Some(p) => {
                if p.description.is_none() && !desc.is_empty() {
                    p.description = Some(desc.clone());
                }
            }
            None => cx.syn_error(syn::Error::new(
                *span,
                format!("the `# Arguments` list documents `{name}`, which is not a parameter of `{fn_name}`"),
            )),
        }
    }
}

fn find_reference(ty: &Type) -> Option<&syn::TypeReference> {
    struct Finder<'a>(Option<&'a syn::TypeReference>);
    impl<'ast> Visit<'ast> for Finder<'ast> {
        fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
            if self.0.is_none() {
                self.0 = Some(r);
            }
        }
    }
    let mut f = Finder(None);
    f.visit_type(ty);
    f.0
}

pub(crate) fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut f = Finder(false);
    f.visit_type(ty);
    f.0
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

/// One parameter's generated pieces.
pub(crate) struct ArgTokens {
    /// `static __MCP_ARG_i: ArgSpec = …;`
    pub(crate) spec_static: TokenStream,
    /// `__MCP_ARG_i`.
    pub(crate) spec: Ident,
    /// `fn __mcp_default_i() -> T { … }`, if there is a default.
    pub(crate) default_item: Option<TokenStream>,
    /// `Option<fn() -> T>`.
    pub(crate) default_fn: TokenStream,
    /// `fn __mcp_complete_i(…)`, if there is a completion function.
    pub(crate) complete_item: Option<TokenStream>,
    /// `__mcp_pi`.
    pub(crate) var: Ident,
}

/// `schema`: whether the default value goes into a JSON Schema (tools), which needs
/// `T: Serialize`.
pub(crate) fn arg_tokens(mcp: &TokenStream, i: usize, p: &Param, schema: bool) -> ArgTokens {
    let ty = &p.ty;
    let spec = format_ident!("__MCP_ARG_{}", i);
    let wire = &p.name;
    let desc = match &p.description {
        Some(d) => quote!(::core::option::Option::Some(#d)),
        None => quote!(::core::option::Option::None),
    };
    let default_value = p.default.as_ref().map(|d| match d {
        Default::Trait => {
            quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default())
        }
        Default::Expr(Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        })) => {
            quote_spanned!(s.span()=> #mcp::default_from_str::<#ty>(#s))
        }
        Default::Expr(e) => quote!(#e),
    });
    let default_fn_ident = format_ident!("__mcp_default_{}", i);
    let has_default = default_value.is_some();
    let (default_item, default_json, default_fn) = match &default_value {
        Some(v) if !schema => (
            Some(quote! {
                fn #default_fn_ident() -> #ty { #v }
            }),
            quote!(::core::option::Option::None),
            quote!(::core::option::Option::Some(#default_fn_ident as fn() -> #ty)),
        ),
        Some(v) => (
            Some(quote! {
                fn #default_fn_ident() -> #ty { #v }
            }),
            quote_spanned!(ty.span()=> ::core::option::Option::Some(|| #mcp::default_json::<#ty>(#default_fn_ident()))),
            quote!(::core::option::Option::Some(#default_fn_ident as fn() -> #ty)),
        ),
        None => (
            None,
            quote!(::core::option::Option::None),
            quote!(::core::option::Option::None),
        ),
    };
    let header = opt_str(&p.header);
    let complete_ident = format_ident!("__mcp_complete_{}", i);
    let (complete_item, complete) = match &p.complete {
        Some(path) => (
            Some(quote_spanned! {path.span()=>
                fn #complete_ident(__mcp_req: #mcp::CompletionRequest) -> #mcp::CompletionFuture {
                    ::std::boxed::Box::pin(async move {
                        let __mcp_r = #path(__mcp_req.value(), __mcp_req.context());
                        (&&#mcp::completion_kind(&__mcp_r)).resolve(__mcp_r).await
                    })
                }
            }),
            quote!(::core::option::Option::Some(#complete_ident as #mcp::Completer)),
        ),
        None => (None, quote!(::core::option::Option::None)),
    };
    let spec_static = quote! {
        static #spec: #mcp::ArgSpec = #mcp::ArgSpec {
            name: #wire,
            description: #desc,
            default_json: #default_json,
            has_default: #has_default,
            complete: #complete,
            header: #header,
        };
    };
    ArgTokens {
        spec_static,
        spec,
        default_item,
        default_fn,
        complete_item,
        var: format_ident!("__mcp_p{}", i),
    }
}

/// The handler every item macro emits: build each parameter (`extracts` bind `vars`), stop
/// with the error naming every parameter at fault, then run the function (`run`, after
/// `prepare`).
pub(crate) struct Handler<'a> {
    /// The request being unpacked, e.g. `__mcp_call`.
    pub(crate) input: Ident,
    /// Its type, e.g. `ToolCall<'_>`.
    pub(crate) input_ty: TokenStream,
    /// The handler's return type, e.g. `ToolFuture`.
    pub(crate) future: TokenStream,
    pub(crate) extracts: &'a [TokenStream],
    pub(crate) vars: &'a [Ident],
    /// Statements between extraction and the call.
    pub(crate) prepare: TokenStream,
    pub(crate) run: TokenStream,
}

impl Handler<'_> {
    pub(crate) fn tokens(&self) -> TokenStream {
        let Handler {
            input,
            input_ty,
            future,
            extracts,
            vars,
            prepare,
            run,
        } = self;
        quote! {
            fn __mcp_handler(mut #input: #input_ty) -> #future {
                #(#extracts)*
                if let ::core::option::Option::Some(__mcp_err) = #input.finish() {
                    return __mcp_err;
                }
                #prepare
                match (#(#vars,)*) {
                    (#(::core::option::Option::Some(#vars),)*) => #run,
                    #[allow(unreachable_patterns)]
                    _ => #input.invalid(),
                }
            }
        }
    }
}

/// Runs the function and converts what it returns with `__mcp_target.convert::<ret>(…)`,
/// inline for a sync function, as a pending future for an `async` one.
pub(crate) fn run_converted(
    future: &TokenStream,
    item: &ItemFn,
    ret: &Type,
    vars: &[Ident],
) -> TokenStream {
    let fn_ident = &item.sig.ident;
    let ret_span = ret.span();
    let call = quote!(#fn_ident(#(#vars),*));
    if item.sig.asyncness.is_some() {
        let convert = quote_spanned!(ret_span=> __mcp_target.convert::<#ret>(#call.await));
        quote!(#future::pending(async move { #convert }))
    } else {
        let convert = quote_spanned!(ret_span=> __mcp_target.convert::<#ret>(#call));
        quote!(#future::ready(#convert))
    }
}
