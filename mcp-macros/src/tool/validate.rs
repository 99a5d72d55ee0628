//! Checks that need the whole tool: names, signature shape, docs against parameters.

use super::parse::{KIND, Tool};
use crate::ctxt::Ctxt;
use crate::signature;

pub(crate) fn validate(cx: &Ctxt, tool: &mut Tool) {
    signature::check_name(cx, tool.common.name.as_ref(), &KIND);
    signature::check_signature(cx, &tool.item.sig, tool.output.as_ref(), &KIND);
    if tool.options.blocking && tool.item.sig.asyncness.is_some() {
        cx.error_spanned_by(
            tool.item.sig.asyncness,
            "`blocking` is for sync functions; an `async fn` already runs without blocking",
        );
    }
    signature::check_params(cx, &tool.params, &KIND);
    check_headers(cx, tool);
    let fn_name = tool.item.sig.ident.to_string();
    signature::attach_argument_docs(cx, &tool.docs, &mut tool.params, &fn_name);
}

/// RFC 9110 `tchar`s other than letters and digits.
const TCHAR_SYMBOLS: &str = "!#$%&'*+-.^_`|~";

/// `#[arg(header = "Name")]`: a header name (an RFC 9110 token), unique regardless of case,
/// and only where the input schema is built from the parameters.
fn check_headers(cx: &Ctxt, tool: &Tool) {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for p in &tool.params {
        let Some(lit) = &p.header else { continue };
        let name = lit.value();
        if tool.options.input_schema.is_some() {
            cx.error_spanned_by(
                lit,
                "`header` has no effect with `#[tool(input_schema = f)]`; put `\"x-mcp-header\": \"Name\"` on the property in the schema `f` returns",
            );
            continue;
        }
        if name.is_empty() {
            cx.error_spanned_by(lit, "a `header` name cannot be empty");
            continue;
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || TCHAR_SYMBOLS.contains(*c)))
        {
            let symbols: Vec<String> = TCHAR_SYMBOLS.chars().map(String::from).collect();
            cx.error_spanned_by(
                lit,
                format!(
                    "a `header` name is an HTTP token, made of ASCII letters, digits and these symbols: {}; found {c:?}",
                    symbols.join(" ")
                ),
            );
            continue;
        }
        if let Some((h, other)) = seen.iter().find(|(h, _)| h.eq_ignore_ascii_case(&name)) {
            cx.error_spanned_by(
                lit,
                format!(
                    "argument `{other}` already uses header `Mcp-Param-{h}`; header names ignore case, so each argument needs its own"
                ),
            );
            continue;
        }
        seen.push((name, &p.name));
    }
}
