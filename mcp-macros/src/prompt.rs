//! `#[prompt]`: a function whose parameters are the prompt's arguments (or extractors) and
//! whose return value is the rendered prompt.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType, Type};

use crate::attr;
use crate::ctxt::{Ctxt, fallback};
use crate::docs::{self, Docs};
use crate::item::{self, Common, CommonOptions, Kind, Param};
use crate::paths;

const KEYS: &[&str] = &["name", "title", "description", "tags", "meta", "icon"];

const KIND: Kind = Kind {
    attr: "`#[prompt]`",
    noun: "prompt",
    generic_reason: "its arguments are listed at compile time",
    return_reason: "the type its messages come from",
    arg_keys: &["description", "default", "rename", "complete"],
};

struct Prompt {
    item: ItemFn,
    common: CommonOptions,
    params: Vec<Param>,
    docs: Docs,
    output: Option<Type>,
}

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item: ItemFn = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let err = syn::Error::new(
                Span::call_site(),
                "`#[prompt]` goes on a function: `#[prompt] fn name(topic: String) -> String { … }`",
            );
            return fallback(input, err);
        }
    };
    let cx = Ctxt::new();
    let mut common = Common::new();
    let parser = syn::meta::parser(|meta| {
        if !common.parse(&cx, &meta)? {
            cx.syn_error(attr::unknown(&meta, "`#[prompt]`", KEYS));
            attr::skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        cx.syn_error(e);
    }
    let docs = docs::parse(&item.attrs);
    let params = item::params(&cx, &mut item, &KIND);
    let output = match &item.sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    let mut prompt = Prompt {
        item,
        common: common.finish(),
        params,
        docs,
        output,
    };
    item::check_name(&cx, prompt.common.name.as_ref(), &KIND);
    item::check_signature(&cx, &prompt.item.sig, prompt.output.as_ref(), &KIND);
    item::check_params(&cx, &prompt.params, &KIND);
    let fn_name = prompt.item.sig.ident.to_string();
    item::attach_argument_docs(&cx, &prompt.docs, &mut prompt.params, &fn_name);
    if prompt.output.is_none() {
        cx.error_spanned_by(
            &prompt.item.sig,
            "a `#[prompt]` function returns the prompt: `String`, `PromptMessage`, `Vec<PromptMessage>`, `GetPromptResult`, or a `Result` of one",
        );
    }
    match cx.check() {
        Ok(()) => generate(&prompt),
        Err(err) => {
            let item = &prompt.item;
            fallback(quote!(#item), err)
        }
    }
}

fn generate(p: &Prompt) -> TokenStream {
    let mcp = paths::private();
    let item = &p.item;
    let name = item::name(&p.common, item);
    let title = item::opt_str(&p.common.title);
    let description = item::description(&p.common, &p.docs);
    let tags = &p.common.tags;
    let meta = item::meta(&p.common);
    let icons = item::icons(&mcp, &p.common);
    let ret = p.output.as_ref().expect("validated");

    let mut items = Vec::new();
    let mut describes = Vec::new();
    let mut extracts = Vec::new();
    let mut vars = Vec::new();
    for (i, param) in p.params.iter().enumerate() {
        let ty = &param.ty;
        let t = item::arg_tokens(&mcp, i, param, false);
        let (spec, var, default_fn) = (&t.spec, &t.var, &t.default_fn);
        items.push(t.spec_static.clone());
        items.extend(t.default_item.clone());
        items.extend(t.complete_item.clone());
        describes.push(quote_spanned! {ty.span()=>
            (&&#mcp::Param::<#ty>::new()).describe(&mut __mcp_args, &#spec);
        });
        extracts.push(quote_spanned! {ty.span()=>
            let #var = (&&#mcp::Param::<#ty>::new()).extract(&mut __mcp_get, &#spec, #default_fn);
        });
        vars.push(t.var);
    }

    let future = quote!(#mcp::PromptFuture);
    let handler = item::Handler {
        input: format_ident!("__mcp_get"),
        input_ty: quote!(#mcp::PromptGet<'_>),
        run: item::run_converted(&future, item, ret, &vars),
        future,
        extracts: &extracts,
        vars: &vars,
        prepare: quote!(let __mcp_target = __mcp_get.target();),
    }
    .tokens();

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            #[allow(unused_imports)]
            use #mcp::{ExtractorParam as _, PendingCompletion as _, PromptArgumentParam as _,
                ReadyCompletion as _};

            #(#items)*

            fn __mcp_arguments() -> ::std::vec::Vec<#mcp::PromptArgument> {
                #[allow(unused_mut)]
                let mut __mcp_args = ::std::vec::Vec::new();
                #(#describes)*
                __mcp_args
            }

            #handler

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
                }
            }
        };
    }
}
