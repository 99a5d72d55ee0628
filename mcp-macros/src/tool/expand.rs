//! The tool model → the function unchanged, plus a `ToolDef` registered through `inventory`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::parse::Tool;
use crate::{item, paths};

pub(crate) fn expand(tool: &Tool) -> TokenStream {
    let mcp = paths::private();
    let item = &tool.item;
    let fn_ident = &item.sig.ident;
    let name = item::name(&tool.common, item);
    let title = item::opt_str(&tool.common.title);
    let description = item::description(&tool.common, &tool.docs);
    let tags = &tool.common.tags;
    let meta = item::meta(&tool.common);
    let icons = item::icons(&mcp, &tool.common);
    let a = &tool.options.annotations;
    let opt_bool = |b: Option<bool>| match b {
        Some(b) => quote!(::core::option::Option::Some(#b)),
        None => quote!(::core::option::Option::None),
    };
    let (ann_title, read_only, destructive, idempotent, open_world) = (
        item::opt_str(&a.title),
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
        let t = item::arg_tokens(&mcp, i, p, true);
        let (spec, var, default_fn) = (&t.spec, &t.var, &t.default_fn);
        specs.push(t.spec_static.clone());
        defaults.extend(t.default_item.clone());
        describes.push(quote_spanned! {ty.span()=>
            (&&#mcp::Param::<#ty>::new()).describe(&mut __mcp_schema, &#spec);
        });
        extracts.push(quote_spanned! {ty.span()=>
            let #var = (&&#mcp::Param::<#ty>::new()).extract(&mut __mcp_call, &#spec, #default_fn);
        });
        vars.push(t.var);
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
    let handler = item::Handler {
        input: format_ident!("__mcp_call"),
        input_ty: quote!(#mcp::ToolCall<'_>),
        future: quote!(#mcp::ToolFuture),
        extracts: &extracts,
        vars: &vars,
        prepare: quote!(let __mcp_mode = __mcp_call.output_mode();),
        run,
    }
    .tokens();
    let input_schema = match &tool.options.input_schema {
        Some(path) => {
            let typed = quote_spanned! {path.span()=>
                let __mcp_raw: fn() -> #mcp::serde_json::Value = #path;
            };
            quote! {
                ::core::mem::drop(__mcp_schema);
                #typed
                #mcp::raw_input_schema(__mcp_raw())
            }
        }
        None => quote!(__mcp_schema.finish()),
    };
    let task = match tool.options.task {
        None => quote!(#mcp::TaskSupport::Forbidden),
        Some(super::parse::TaskMode::Optional) => quote!(#mcp::TaskSupport::Optional),
        Some(super::parse::TaskMode::Required) => quote!(#mcp::TaskSupport::Required),
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
                #input_schema
            }

            fn __mcp_output_schema() -> ::core::option::Option<#mcp::OutputSchema> {
                #output_schema
            }

            #handler

            #mcp::inventory::submit! {
                #mcp::ToolDef {
                    name: #name,
                    title: #title,
                    description: #description,
                    module_path: ::core::module_path!(),
                    location: (::core::file!(), ::core::line!()),
                    tags: &[#(#tags),*],
                    icons: #icons,
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
                    task: #task,
                    handler: __mcp_handler,
                }
            }
        };
    }
}
