//! Parameters: their model, `#[arg(...)]`, and the one expansion of them that every item
//! macro uses (argument specs, defaults, completers, schema entries and extraction).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, ItemFn, Lit, LitStr, Token, Type};

use crate::attr::{self, Slot};
use crate::ctxt::Ctxt;

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

impl Param {
    pub(crate) fn new(ident: Ident, ty: Type, span: Span) -> Self {
        Param {
            name: ident.to_string().trim_start_matches("r#").to_string(),
            ident,
            ty,
            rename: None,
            description: None,
            default: None,
            complete: None,
            header: None,
            span,
        }
    }
}

/// One `#[arg(...)]` attribute; `keys` are those the macro accepts.
pub(crate) fn parse_arg(cx: &Ctxt, a: &syn::Attribute, param: &mut Param, keys: &[&str]) {
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

// ---------------------------------------------------------------- expansion

/// Where the parameters come from.
pub(crate) enum Site<'a> {
    /// A tool call: arguments in the input schema (defaults included, so they serialize) and
    /// in the call's `arguments`, or extractors.
    Tool,
    /// A prompt: arguments in the prompt's list and read from text, or extractors.
    Prompt,
    /// A resource read: the template's `variables`, read from the URI, or extractors.
    Resource { variables: &'a [String] },
}

/// The parameters' generated pieces. Statements read `__mcp_in` (the request being unpacked)
/// and `describes` add to `__mcp_list` (the input schema or the argument list).
#[derive(Default)]
pub(crate) struct Expanded {
    /// Argument specs, default functions and completers, for the `const _` block.
    pub(crate) items: Vec<TokenStream>,
    /// Per parameter: add it to `__mcp_list`, and have rustc judge its type, with one error
    /// spanned at the type when it is neither an argument nor an extractor.
    pub(crate) describes: Vec<TokenStream>,
    /// `let __mcp_pi = …;`, one per parameter.
    pub(crate) extracts: Vec<TokenStream>,
    pub(crate) vars: Vec<Ident>,
    /// The specs of the template variables, in template order (resources).
    pub(crate) variable_specs: Vec<Ident>,
    /// Per parameter: the `Option<StateNeed>` of its type (`Some` for `State<T>`).
    pub(crate) states: Vec<TokenStream>,
}

impl Expanded {
    /// `fn __mcp_states()`: the `State<T>` types the handler takes, for the check at start.
    /// Resolved like `describe`: an extractor's own need, else none (arguments, and types the
    /// crate refuses anyway). Needs `ExtractorParam` and a fallback trait in scope.
    pub(crate) fn states_fn(&self, mcp: &TokenStream) -> TokenStream {
        let states = &self.states;
        quote! {
            fn __mcp_states() -> ::std::vec::Vec<#mcp::StateNeed> {
                #[allow(unused_mut)]
                let mut __mcp_all = ::std::vec::Vec::new();
                #(__mcp_all.extend(#states);)*
                __mcp_all
            }
        }
    }
}

pub(crate) fn expand(mcp: &TokenStream, params: &[Param], site: &Site<'_>) -> Expanded {
    let mut out = Expanded::default();
    let mut variables: Vec<(usize, Ident)> = Vec::new();
    for (i, p) in params.iter().enumerate() {
        let ty = &p.ty;
        let spec = format_ident!("__MCP_ARG_{}", i);
        let var = format_ident!("__mcp_p{}", i);
        let in_schema = matches!(site, Site::Tool);
        let (default_json, default_fn) = default_tokens(mcp, i, p, in_schema, &mut out.items);
        let complete = complete_tokens(mcp, i, p, &mut out.items);
        let wire = &p.name;
        let description = match &p.description {
            Some(d) => quote!(::core::option::Option::Some(#d)),
            None => quote!(::core::option::Option::None),
        };
        let has_default = p.default.is_some();
        let header = crate::common::opt_str(&p.header);
        out.items.push(quote! {
            static #spec: #mcp::ArgSpec = #mcp::ArgSpec {
                name: #wire,
                description: #description,
                default_json: #default_json,
                has_default: #has_default,
                complete: #complete,
                header: #header,
            };
        });
        // Every token of these statements carries the type's span, so rustc's verdict on
        // the type (from the traits' `on_unimplemented`) underlines the parameter's type.
        let is_variable =
            matches!(site, Site::Resource { variables } if variables.contains(&p.name));
        if !is_variable {
            out.states.push(quote_spanned! {ty.span()=>
                (&&&#mcp::Param::<#ty>::new()).state_need()
            });
        }
        match site {
            Site::Tool | Site::Prompt => {
                out.describes.push(quote_spanned! {ty.span()=>
                    (&&&#mcp::Param::<#ty>::new()).describe(&mut __mcp_list, &#spec);
                });
                out.extracts.push(quote_spanned! {ty.span()=>
                    let #var = (&&&#mcp::Param::<#ty>::new()).extract(&mut __mcp_in, &#spec, #default_fn);
                });
            }
            Site::Resource { variables: names } => {
                if let Some(pos) = names.iter().position(|v| *v == p.name) {
                    variables.push((pos, spec.clone()));
                    out.extracts.push(quote_spanned! {ty.span()=>
                        let #var = __mcp_in.variable::<#ty>(&#spec, #default_fn);
                    });
                } else {
                    out.extracts.push(quote_spanned! {ty.span()=>
                        let #var = #mcp::resource_extractor::<#ty>(&mut __mcp_in, &#spec);
                    });
                }
            }
        }
        out.vars.push(var);
    }
    variables.sort_by_key(|(pos, _)| *pos);
    out.variable_specs = variables.into_iter().map(|(_, s)| s).collect();
    out
}

/// `(default_json, default_fn)`: the default as JSON for the schema (`in_schema`, which needs
/// `T: Serialize`) and as `Option<fn() -> T>` for extraction; the function goes to `items`.
fn default_tokens(
    mcp: &TokenStream,
    i: usize,
    p: &Param,
    in_schema: bool,
    items: &mut Vec<TokenStream>,
) -> (TokenStream, TokenStream) {
    let none = quote!(::core::option::Option::None);
    let ty = &p.ty;
    let value = match &p.default {
        None => return (none.clone(), none),
        Some(Default::Trait) => {
            quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default())
        }
        Some(Default::Expr(Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }))) => quote_spanned!(s.span()=> #mcp::default_from_str::<#ty>(#s)),
        Some(Default::Expr(e)) => quote!(#e),
    };
    let ident = format_ident!("__mcp_default_{}", i);
    items.push(quote! {
        fn #ident() -> #ty { #value }
    });
    let json = if in_schema {
        quote_spanned!(ty.span()=> ::core::option::Option::Some(|| #mcp::default_json::<#ty>(#ident())))
    } else {
        none
    };
    (
        json,
        quote!(::core::option::Option::Some(#ident as fn() -> #ty)),
    )
}

/// The `Option<Completer>` of `#[arg(complete = path)]`; the completer goes to `items`.
fn complete_tokens(
    mcp: &TokenStream,
    i: usize,
    p: &Param,
    items: &mut Vec<TokenStream>,
) -> TokenStream {
    let Some(path) = &p.complete else {
        return quote!(::core::option::Option::None);
    };
    let ident = format_ident!("__mcp_complete_{}", i);
    items.push(quote_spanned! {path.span()=>
        fn #ident(__mcp_req: #mcp::CompletionRequest) -> #mcp::CompletionFuture {
            #mcp::complete_with(#path, __mcp_req)
        }
    });
    quote!(::core::option::Option::Some(#ident as #mcp::Completer))
}

/// The handler every item macro emits: build each parameter from `__mcp_in`, stop with the
/// error naming every parameter at fault, then run the function (`run`, after `prepare`).
pub(crate) struct Handler<'a> {
    /// The request's type, e.g. `ToolCall<'_>`.
    pub(crate) input_ty: TokenStream,
    /// The handler's return type, e.g. `ToolFuture`.
    pub(crate) future: &'a TokenStream,
    pub(crate) params: &'a Expanded,
    /// Statements between extraction and the call.
    pub(crate) prepare: TokenStream,
    pub(crate) run: TokenStream,
}

impl Handler<'_> {
    pub(crate) fn tokens(&self) -> TokenStream {
        let Handler {
            input_ty,
            future,
            params,
            prepare,
            run,
        } = self;
        let (extracts, vars) = (&params.extracts, &params.vars);
        quote! {
            fn __mcp_handler(mut __mcp_in: #input_ty) -> #future {
                #(#extracts)*
                if let ::core::option::Option::Some(__mcp_err) = __mcp_in.finish() {
                    return __mcp_err;
                }
                #prepare
                match (#(#vars,)*) {
                    (#(::core::option::Option::Some(#vars),)*) => #run,
                    #[allow(unreachable_patterns)]
                    _ => __mcp_in.invalid(),
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
