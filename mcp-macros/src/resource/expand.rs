//! The resource model → the function unchanged, plus a `ResourceDef` registered through
//! `inventory`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::parse::Resource;
use crate::common::{self, opt_str};
use crate::param::{self, Handler, Site};
use crate::paths;

pub(crate) fn expand(r: &Resource) -> TokenStream {
    let mcp = paths::private(r.common.krate.as_ref());
    let item = &r.item;
    let (Some(uri), Some(ret)) = (&r.uri, &r.output) else {
        unreachable!("validation requires a URI and a return type");
    };
    let name = common::name(&r.common, item);
    let title = opt_str(&r.common.title);
    let description = common::description(&r.common, &r.docs);
    let tags = &r.common.tags;
    let scopes = crate::common::scopes(&r.common);
    let meta = common::meta(&r.common);
    let icons = common::icons(&mcp, &r.common);
    let mime_type = match &r.mime_type {
        Some(m) => quote!(::core::option::Option::Some(#m)),
        None => quote_spanned!(ret.span()=> <#ret as #mcp::ResourceOutput>::MIME_TYPE),
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
    let last_modified = opt_str(&r.annotations.last_modified);

    let params = param::expand(
        &mcp,
        &r.params,
        &Site::Resource {
            variables: &r.variables,
        },
    );
    let future = quote!(#mcp::ResourceFuture);
    let handler = Handler {
        input_ty: quote!(#mcp::ResourceRead<'_>),
        run: param::run_converted(&future, item, ret, &params.vars),
        future: &future,
        params: &params,
        prepare: quote!(let __mcp_target = __mcp_in.target();),
    }
    .tokens();
    let (items, variable_specs) = (&params.items, &params.variable_specs);
    let states_fn = params.states_fn(&mcp);

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            #[allow(unused_imports)]
            use #mcp::{ExtractorParam as _, InvalidToolParam as _, PendingCompletion as _,
                ReadyCompletion as _};

            #(#items)*

            #handler

            #states_fn

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
                    scopes: #scopes,
                    states: __mcp_states,
                }
            }
        };
    }
}
