//! Attribute macros of `mcp-runtime`. Depend on `mcp-runtime`, which re-exports them; the
//! reference with examples is on [`mcp_runtime::tool`](https://docs.rs/mcp-runtime).

mod attr;
mod ctxt;
mod docs;
mod paths;
mod tool;

use proc_macro::TokenStream;

// Documented where users meet it: on the `mcp_runtime::tool` re-export (mcp-runtime/src/tool.md),
// whose rustdoc would otherwise end with this item's own doc comment.
#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn tool(args: TokenStream, input: TokenStream) -> TokenStream {
    tool::expand(args.into(), input.into()).into()
}
