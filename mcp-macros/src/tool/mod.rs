//! `#[tool]`: parse → validate → expand.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::ctxt::{Ctxt, fallback};

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: syn::ItemFn = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let err = syn::Error::new(
                proc_macro2::Span::call_site(),
                "`#[tool]` goes on a function: `#[tool] fn name(arg: Type) -> Output { … }`",
            );
            return fallback(input, err);
        }
    };
    let cx = Ctxt::new();
    let mut tool = parse::parse(&cx, args, item);
    validate::validate(&cx, &mut tool);
    match cx.check() {
        Ok(()) => expand::expand(&tool),
        // The function, minus `#[arg]` attributes, stays usable while the errors show.
        Err(err) => {
            let item = &tool.item;
            fallback(quote::quote!(#item), err)
        }
    }
}
