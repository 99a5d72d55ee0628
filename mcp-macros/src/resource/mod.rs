//! `#[resource("uri", …)]`: parse → validate → expand. A fixed resource, or a template whose
//! variables bind to the function's parameters by name.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;
use crate::fallback::{fallback, not_a_function};

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let Ok(item) = syn::parse2::<syn::ItemFn>(input.clone()) else {
        return not_a_function(
            input,
            "`#[resource]` goes on a function: `#[resource(\"scheme://path/{id}\")] fn name(id: u64) -> String { … }`",
        );
    };
    let cx = Ctxt::new();
    let mut resource = parse::parse(&cx, args, item);
    validate::validate(&cx, &mut resource);
    match cx.check() {
        Ok(()) => expand::expand(&resource),
        // The function, minus `#[arg]` attributes, stays usable while the errors show.
        Err(err) => {
            let item = &resource.item;
            fallback(quote::quote!(#item), err)
        }
    }
}
