//! Attribute macros of `mcp-runtime`. Depend on `mcp-runtime`, which re-exports them; the
//! references with examples are on [`mcp_runtime::tool`](https://docs.rs/mcp-runtime/latest/mcp_runtime/attr.tool.html),
//! [`mcp_runtime::resource`](https://docs.rs/mcp-runtime/latest/mcp_runtime/attr.resource.html)
//! and [`mcp_runtime::prompt`](https://docs.rs/mcp-runtime/latest/mcp_runtime/attr.prompt.html).
//!
//! Each macro is one pipeline, parse → validate → expand (`tool/`, `resource/`, `prompt/`),
//! over shared machinery: the error collector (`ctxt`), option parsing (`attr`, `common`),
//! parameters and their expansion (`param`), signature checks (`signature`), doc comments
//! (`docs`), the runtime's path (`paths`) and the output on error (`fallback`).

mod apps;
mod attr;
mod common;
mod ctxt;
mod docs;
mod enclosing;
mod fallback;
mod form;
mod param;
mod paths;
mod prompt;
mod resource;
mod signature;
mod skills;
mod tool;

use proc_macro::TokenStream;

// Documented where users meet it: on the `mcp_runtime::tool` re-export (mcp-runtime/src/tool.md),
// whose rustdoc would otherwise end with this item's own doc comment.
#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn tool(args: TokenStream, input: TokenStream) -> TokenStream {
    tool::expand(args.into(), input.into()).into()
}

// Documented on the `mcp_runtime::resource` re-export (mcp-runtime/src/resource.md).
#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn resource(args: TokenStream, input: TokenStream) -> TokenStream {
    resource::expand(args.into(), input.into()).into()
}

// Documented on the `mcp_runtime::prompt` re-export (mcp-runtime/src/prompt.md).
#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn prompt(args: TokenStream, input: TokenStream) -> TokenStream {
    prompt::expand(args.into(), input.into()).into()
}

// Documented on the `mcp_runtime::include_skills` re-export (mcp-runtime/src/lib.rs).
#[allow(missing_docs)]
#[proc_macro]
pub fn include_skills(input: TokenStream) -> TokenStream {
    skills::expand(input.into()).into()
}

// Documented on the `mcp_runtime::Form` re-export (mcp-runtime/src/lib.rs).
#[allow(missing_docs)]
#[proc_macro_derive(Form)]
pub fn derive_form(input: TokenStream) -> TokenStream {
    form::expand(input.into()).into()
}
