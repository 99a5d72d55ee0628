//! What an expansion emits when it fails: the user's item, unchanged, and every error.

use proc_macro2::{Span, TokenStream};
use quote::quote;

/// The user's item followed by the errors: the rest of the crate still compiles against the
/// function, so one mistake does not cascade.
pub(crate) fn fallback(item: TokenStream, err: syn::Error) -> TokenStream {
    let errors = err.to_compile_error();
    quote! {
        #item
        #errors
    }
}

/// The attribute is on something other than a function: the item as written, and how the
/// attribute is used.
pub(crate) fn not_a_function(input: TokenStream, usage: &str) -> TokenStream {
    fallback(input, syn::Error::new(Span::call_site(), usage))
}
