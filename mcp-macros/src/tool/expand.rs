//! The tool model → the function unchanged, plus a `ToolDef` registered through `inventory`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::parse::{TaskMode, Tool};
use crate::common::{self, opt_str};
use crate::param::{self, Handler, Site};
use crate::paths;

pub(crate) fn expand(tool: &Tool) -> TokenStream {
    let mcp = paths::private(tool.common.krate.as_ref());
    let item = &tool.item;
    let fn_ident = &item.sig.ident;
    let name = common::name(&tool.common, item);
    let title = opt_str(&tool.common.title);
    let description = common::description(&tool.common, &tool.docs);
    let tags = &tool.common.tags;
    let scopes = crate::common::scopes(&tool.common);
    let meta = common::meta(&tool.common);
    let icons = common::icons(&mcp, &tool.common);
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

    let params = param::expand(&mcp, &tool.params, &Site::Tool);
    let vars = &params.vars;

    let ret = match &tool.output {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    };
    let ret_span = tool
        .output
        .as_ref()
        .map_or_else(|| item.sig.ident.span(), |t| t.span());
    // The value is bound first so that every token of the conversion carries the return
    // type's span, and rustc's verdict on that type underlines it.
    let convert = |value: TokenStream| {
        let conversion = quote_spanned! {ret_span=>
            (&&&&#mcp::Ret::<#ret>::new()).make_result(__mcp_value, __mcp_mode)
        };
        quote!({
            let __mcp_value = #value;
            #conversion
        })
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
    let handler = Handler {
        input_ty: quote!(#mcp::ToolCall<'_>),
        future: &quote!(#mcp::ToolFuture),
        params: &params,
        prepare: quote!(let __mcp_mode = __mcp_in.output_mode();),
        run,
    }
    .tokens();
    let input_schema = match &tool.options.input_schema {
        Some(path) => {
            let typed = quote_spanned! {path.span()=>
                let __mcp_raw: fn() -> #mcp::serde_json::Value = #path;
            };
            quote! {
                ::core::mem::drop(__mcp_list);
                #typed
                #mcp::raw_input_schema(__mcp_raw())
            }
        }
        None => quote!(__mcp_list.finish()),
    };
    let task = match tool.options.task {
        None => quote!(#mcp::TaskSupport::Forbidden),
        Some(TaskMode::Optional) => quote!(#mcp::TaskSupport::Optional),
        Some(TaskMode::Required) => quote!(#mcp::TaskSupport::Required),
    };
    let output_schema = if tool.options.output_schema {
        quote_spanned!(ret_span=> (&&&&#mcp::Ret::<#ret>::new()).output_schema())
    } else {
        quote!(::core::option::Option::None)
    };

    let timeout = match tool.options.timeout_ms {
        Some(ms) => quote!(::core::option::Option::Some(::core::time::Duration::from_millis(#ms))),
        None => quote!(::core::option::Option::None),
    };
    let max_concurrency = match tool.options.max_concurrency {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };

    let (items, describes) = (&params.items, &params.describes);
    let states_fn = params.states_fn(&mcp);
    let text_copy = opt_bool(tool.options.text);
    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            #[allow(unused_imports)]
            use #mcp::{ArgumentParam as _, ContentReturn as _, ExtractorParam as _,
                InvalidReturn as _, InvalidToolParam as _, StructuredResultReturn as _,
                StructuredReturn as _};

            #(#items)*

            fn __mcp_input_schema() -> #mcp::JsonObject {
                let mut __mcp_list = #mcp::InputSchemaBuilder::new();
                #(#describes)*
                #input_schema
            }

            fn __mcp_output_schema() -> ::core::option::Option<#mcp::OutputSchema> {
                #output_schema
            }

            #handler

            #states_fn

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
                    scopes: #scopes,
                    states: __mcp_states,
                    text: #text_copy,
                    limits: #mcp::ToolLimits {
                        timeout: #timeout,
                        max_concurrency: #max_concurrency,
                    },
                }
            }
        };
    }
}
