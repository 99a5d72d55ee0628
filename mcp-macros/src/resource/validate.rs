//! Checks that need the whole resource: the URI template against the parameters, the
//! signature, and what only template variables may have.

use mcp_uri_template::UriTemplate;

use super::parse::{KIND, Resource};
use crate::ctxt::Ctxt;
use crate::signature;

pub(crate) fn validate(cx: &Ctxt, r: &mut Resource) {
    signature::check_name(cx, r.common.name.as_ref(), &KIND);
    signature::check_signature(cx, &r.item.sig, r.output.as_ref(), &KIND);
    signature::check_params(cx, &r.params, &KIND);
    let fn_name = r.item.sig.ident.to_string();
    signature::attach_argument_docs(cx, &r.docs, &mut r.params, &fn_name);
    if r.output.is_none() {
        cx.error_spanned_by(
            &r.item.sig,
            "a `#[resource]` function returns the contents: `String`, `Vec<u8>`, `Json<T>`, `ResourceContents`, or a `Result` of one",
        );
    }
    let Some(uri) = &r.uri else { return };
    // The runtime parses the template with the same crate when the server is built, so what
    // compiles here is accepted there.
    match UriTemplate::parse(&uri.value()) {
        Ok(t) => r.variables = t.variables().map(str::to_string).collect(),
        Err(e) => {
            cx.error_spanned_by(uri, e);
            // Without the variables, the parameters cannot be judged.
            return;
        }
    }
    for v in &r.variables {
        if !r.params.iter().any(|p| &p.name == v) {
            cx.error_spanned_by(
                uri,
                format!(
                    "the URI template variable `{v}` has no parameter: add `{v}: String` (or another type that deserializes from text) to `{fn_name}`"
                ),
            );
        }
    }
    for p in &r.params {
        if r.variables.contains(&p.name) {
            continue;
        }
        if let Some(c) = &p.complete {
            cx.error_spanned_by(
                c,
                format!(
                    "`complete` suggests values for template variables, and `{}` is not a variable of `{}`",
                    p.name,
                    uri.value()
                ),
            );
        }
        if p.default.is_some() {
            cx.syn_error(syn::Error::new(
                p.span,
                format!(
                    "`default` is for template variables, and `{}` is not a variable of `{}`",
                    p.name,
                    uri.value()
                ),
            ));
        }
    }
}
