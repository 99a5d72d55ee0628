//! Checks that need the whole prompt: name, signature, `# Arguments` against parameters.

use super::parse::{KIND, Prompt};
use crate::ctxt::Ctxt;
use crate::signature;

pub(crate) fn validate(cx: &Ctxt, p: &mut Prompt) {
    signature::check_name(cx, p.common.name.as_ref(), &KIND);
    signature::check_signature(cx, &p.item.sig, p.output.as_ref(), &KIND);
    signature::check_params(cx, &p.params, &KIND);
    let fn_name = p.item.sig.ident.to_string();
    signature::attach_argument_docs(cx, &p.docs, &mut p.params, &fn_name);
    if p.output.is_none() {
        cx.error_spanned_by(
            &p.item.sig,
            "a `#[prompt]` function returns the prompt: `String`, `PromptMessage`, `Vec<PromptMessage>`, `GetPromptResult`, or a `Result` of one",
        );
    }
}
