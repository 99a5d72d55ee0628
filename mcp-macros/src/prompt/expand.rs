//! The prompt model → the function unchanged, plus a `PromptDef` registered through
//! `inventory`.

use proc_macro2::TokenStream;
use quote::quote;

use super::parse::Prompt;
use crate::common::{self, opt_str};
use crate::param::{self, Handler, Site};
use crate::paths;

pub(crate) fn expand(p: &Prompt) -> TokenStream {
    let mcp = paths::private(p.common.krate.as_ref());
    let item = &p.item;
    let Some(ret) = &p.output else {
        unreachable!("validation requires a return type");
    };
    let name = common::name(&p.common, item);
    let title = opt_str(&p.common.title);
    let description = common::description(&p.common, &p.docs);
    let tags = &p.common.tags;
    let scopes = crate::common::scopes(&p.common);
    let meta = common::meta(&p.common);
    let icons = common::icons(&mcp, &p.common);

    let params = param::expand(&mcp, &p.params, &Site::Prompt);
    let future = quote!(#mcp::PromptFuture);
    let handler = Handler {
        input_ty: quote!(#mcp::PromptGet<'_>),
        run: param::run_converted(&future, item, ret, &params.vars),
        future: &future,
        params: &params,
        prepare: quote!(let __mcp_target = __mcp_in.target();),
    }
    .tokens();
    let (items, describes) = (&params.items, &params.describes);
    let states_fn = params.states_fn(&mcp);

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            #[allow(unused_imports)]
            use #mcp::{ExtractorParam as _, InvalidPromptParam as _, PendingCompletion as _,
                PromptArgumentParam as _, ReadyCompletion as _};

            #(#items)*

            fn __mcp_arguments() -> ::std::vec::Vec<#mcp::PromptArgument> {
                #[allow(unused_mut)]
                let mut __mcp_list = ::std::vec::Vec::new();
                #(#describes)*
                __mcp_list
            }

            #handler

            #states_fn

            #mcp::inventory::submit! {
                #mcp::PromptDef {
                    name: #name,
                    title: #title,
                    description: #description,
                    module_path: ::core::module_path!(),
                    location: (::core::file!(), ::core::line!()),
                    tags: &[#(#tags),*],
                    icons: #icons,
                    meta: #meta,
                    arguments: __mcp_arguments,
                    handler: __mcp_handler,
                    scopes: #scopes,
                    states: __mcp_states,
                }
            }
        };
    }
}
