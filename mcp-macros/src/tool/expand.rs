//! The tool model → the function unchanged, plus a `ToolDef` registered through `inventory`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit};

use super::parse::{Default, Tool};
use crate::paths;

pub(crate) fn expand(tool: &Tool) -> TokenStream {
    let mcp = paths::private();
    let item = &tool.item;
    let fn_ident = &item.sig.ident;
    let name = match &tool.options.name {
        Some(n) => n.value(),
        None => fn_ident.to_string().trim_start_matches("r#").to_string(),
    };
    let opt_str = |s: &Option<syn::LitStr>| match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    };
    let title = opt_str(&tool.options.title);
    let description = match (&tool.options.description, &tool.docs.description) {
        (Some(d), _) => quote!(::core::option::Option::Some(#d)),
        (None, Some(d)) => quote!(::core::option::Option::Some(#d)),
        (None, None) => quote!(::core::option::Option::None),
    };
    let tags = &tool.options.tags;
    let meta = match &tool.options.meta {
        Some(m) => quote!(::core::option::Option::Some(#m)),
        None => quote!(::core::option::Option::None),
    };
    let icons = tool.options.icons.iter().map(|i| {
        let src = &i.src;
        let mime = opt_str(&i.mime_type);
        let theme = opt_str(&i.theme);
        let sizes = &i.sizes;
        quote!(#mcp::Icon { src: #src, mime_type: #mime, sizes: &[#(#sizes),*], theme: #theme })
    });
    let a = &tool.options.annotations;
    let opt_bool = |b: Option<bool>| match b {
        Some(b) => quote!(::core::option::Option::Some(#b)),
        None => quote!(::core::option::Option::None),
    };
    let (ann_title, read_only, destructive, idempotent, open_world) = (
        opt_str(&a.title),
        opt_bool(a.read_only),
        opt_bool(a.destructive),
        opt_bool(a.idempotent),
        opt_bool(a.open_world),
    );

    let mut specs = Vec::new();
    let mut defaults = Vec::new();
    let mut describes = Vec::new();
    let mut extracts = Vec::new();
    let mut vars = Vec::new();
    for (i, p) in tool.params.iter().enumerate() {
        let ty = &p.ty;
        let spec = format_ident!("__MCP_ARG_{}", i);
        let var = format_ident!("__mcp_p{}", i);
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
        let (default_json, default_fn) = match &default_value {
            Some(v) => {
                defaults.push(quote! {
                    fn #default_fn_ident() -> #ty { #v }
                });
                (
                    quote_spanned!(ty.span()=> ::core::option::Option::Some(|| #mcp::default_json::<#ty>(#default_fn_ident()))),
                    quote!(::core::option::Option::Some(#default_fn_ident as fn() -> #ty)),
                )
            }
            None => (
                quote!(::core::option::Option::None),
                quote!(::core::option::Option::None),
            ),
        };
        specs.push(quote! {
            static #spec: #mcp::ArgSpec = #mcp::ArgSpec {
                name: #wire,
                description: #desc,
                default_json: #default_json,
            };
        });
        describes.push(quote_spanned! {ty.span()=>
            (&&#mcp::Param::<#ty>::new()).describe(&mut __mcp_schema, &#spec);
        });
        extracts.push(quote_spanned! {ty.span()=>
            let #var = (&&#mcp::Param::<#ty>::new()).extract(&mut __mcp_call, &#spec, #default_fn);
        });
        vars.push(var);
    }

    let ret = match &tool.output {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    };
    let ret_span = tool
        .output
        .as_ref()
        .map_or_else(|| item.sig.ident.span(), |t| t.span());
    let convert = |value: TokenStream| {
        quote_spanned! {ret_span=>
            (&&&#mcp::Ret::<#ret>::new()).make_result(#value, __mcp_mode)
        }
    };
    let call = quote!(#fn_ident(#(#vars),*));
    let run = if item.sig.asyncness.is_some() {
        let converted = convert(quote!(#call.await));
        let span = item.sig.asyncness.span();
        quote_spanned!(span=> #mcp::ToolFuture::pending(async move { #converted }))
    } else if tool.options.blocking {
        let converted = convert(call);
        quote!(#mcp::ToolFuture::blocking(move || #converted))
    } else {
        let converted = convert(call);
        quote!(#mcp::ToolFuture::ready(#converted))
    };
    let output_schema = if tool.options.output_schema {
        quote_spanned!(ret_span=> (&&&#mcp::Ret::<#ret>::new()).output_schema())
    } else {
        quote!(::core::option::Option::None)
    };

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            #[allow(unused_imports)]
            use #mcp::{ArgumentParam as _, ContentReturn as _, ExtractorParam as _,
                StructuredResultReturn as _, StructuredReturn as _};

            #(#specs)*
            #(#defaults)*

            fn __mcp_input_schema() -> #mcp::JsonObject {
                let mut __mcp_schema = #mcp::InputSchemaBuilder::new();
                #(#describes)*
                __mcp_schema.finish()
            }

            fn __mcp_output_schema() -> ::core::option::Option<#mcp::OutputSchema> {
                #output_schema
            }

            fn __mcp_handler(mut __mcp_call: #mcp::ToolCall<'_>) -> #mcp::ToolFuture {
                #(#extracts)*
                if let ::core::option::Option::Some(__mcp_err) = __mcp_call.finish() {
                    return __mcp_err;
                }
                let __mcp_mode = __mcp_call.output_mode();
                match (#(#vars,)*) {
                    (#(::core::option::Option::Some(#vars),)*) => #run,
                    #[allow(unreachable_patterns)]
                    _ => __mcp_call.invalid(),
                }
            }

            #mcp::inventory::submit! {
                #mcp::ToolDef {
                    name: #name,
                    title: #title,
                    description: #description,
                    module_path: ::core::module_path!(),
                    location: (::core::file!(), ::core::line!()),
                    tags: &[#(#tags),*],
                    icons: &[#(#icons),*],
                    annotations: #mcp::ToolAnnotations {
                        title: #ann_title,
                        read_only: #read_only,
                        destructive: #destructive,
                        idempotent: #idempotent,
                        open_world: #open_world,
                    },
                    meta: #meta,
                    input_schema: __mcp_input_schema,
                    output_schema: __mcp_output_schema,
                    handler: __mcp_handler,
                }
            }
        };
    }
}
