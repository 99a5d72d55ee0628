//! The one path through which generated code names the runtime.

use proc_macro2::TokenStream;
use quote::quote;

/// `::mcp_runtime::__private`, or `path::__private` under `#[tool(crate = path)]`: re-exports
/// of everything expansions use, so users depend on `mcp-runtime` (or a crate re-exporting
/// it) alone.
pub(crate) fn private(krate: Option<&syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::mcp_runtime::__private),
    }
}
