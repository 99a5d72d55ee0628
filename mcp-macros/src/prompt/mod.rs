//! `#[prompt]`: parse → validate → expand. A function whose parameters are the prompt's
//! arguments (or extractors) and whose return value is the rendered prompt.

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
            "`#[prompt]` goes on a function: `#[prompt] fn name(topic: String) -> String { … }`",
        );
    };
    let cx = Ctxt::new();
    let mut prompt = parse::parse(&cx, args, item);
    validate::validate(&cx, &mut prompt);
    match cx.check() {
        Ok(()) => expand::expand(&prompt),
        // The function, minus `#[arg]` attributes, stays usable while the errors show.
        Err(err) => {
            let item = &prompt.item;
            fallback(quote::quote!(#item), err)
        }
    }
}
