//! The one path through which generated code names the runtime.

use proc_macro2::TokenStream;
use quote::quote;

/// `::mcp_runtime::__private`: re-exports of everything expansions use, so users depend on
/// `mcp-runtime` alone.
pub(crate) fn private() -> TokenStream {
    quote!(::mcp_runtime::__private)
}
