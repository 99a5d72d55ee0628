//! Checks that need the whole tool: names, signature shape, docs against parameters.

use super::parse::{KIND, Tool};
use crate::ctxt::Ctxt;
use crate::item;

pub(crate) fn validate(cx: &Ctxt, tool: &mut Tool) {
    item::check_name(cx, tool.common.name.as_ref(), &KIND);
    item::check_signature(cx, &tool.item.sig, tool.output.as_ref(), &KIND);
    if tool.options.blocking && tool.item.sig.asyncness.is_some() {
        cx.error_spanned_by(
            tool.item.sig.asyncness,
            "`blocking` is for sync functions; an `async fn` already runs without blocking",
        );
    }
    item::check_params(cx, &tool.params, &KIND);
    let fn_name = tool.item.sig.ident.to_string();
    item::attach_argument_docs(cx, &tool.docs, &mut tool.params, &fn_name);
}
