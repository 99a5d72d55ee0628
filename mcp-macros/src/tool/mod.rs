//! `#[tool]`: parse → validate → expand.

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
            "`#[tool]` goes on a function: `#[tool] fn name(arg: Type) -> Output { … }`",
        );
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
