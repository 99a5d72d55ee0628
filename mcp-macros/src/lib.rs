//! Attribute macros of `mcp-runtime`. Depend on `mcp-runtime`, which re-exports them; the
//! reference with examples is on [`mcp_runtime::tool`](https://docs.rs/mcp-runtime).

mod attr;
mod ctxt;
mod docs;
mod paths;
mod tool;

use proc_macro::TokenStream;

/// Turns a function into an MCP tool. See `mcp_runtime::tool` for the reference.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, input: TokenStream) -> TokenStream {
    tool::expand(args.into(), input.into()).into()
}
