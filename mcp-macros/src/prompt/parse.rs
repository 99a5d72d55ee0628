//! `#[prompt(...)]` and `#[arg(...)]` → the prompt model.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{ItemFn, Type};

use crate::attr;
use crate::common::{COMMON_KEYS, Common, CommonOptions};
use crate::ctxt::Ctxt;
use crate::docs::{self, Docs};
use crate::param::Param;
use crate::signature::{self, Kind};

pub(crate) const KIND: Kind = Kind {
    attr: "`#[prompt]`",
    noun: "prompt",
    generic_reason: "its arguments are listed at compile time",
    return_reason: "the type its messages come from",
    arg_keys: &["description", "default", "rename", "complete"],
};

/// The whole prompt, as understood from the attribute and the function.
pub(crate) struct Prompt {
    /// The function, with the `#[arg]` attributes removed.
    pub(crate) item: ItemFn,
    pub(crate) common: CommonOptions,
    pub(crate) params: Vec<Param>,
    pub(crate) docs: Docs,
    pub(crate) output: Option<Type>,
}

pub(crate) fn parse(cx: &Ctxt, args: TokenStream, mut item: ItemFn) -> Prompt {
    let mut common = Common::new();
    let parser = syn::meta::parser(|meta| {
        if !common.parse(cx, &meta)? {
            cx.syn_error(attr::unknown(&meta, "`#[prompt]`", COMMON_KEYS));
            attr::skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        cx.syn_error(e);
    }
    let docs = docs::parse(&item.attrs);
    signature::check_not_associated(cx, &item, &KIND);
    let params = signature::params(cx, &mut item, &KIND);
    let output = signature::output(&item);
    Prompt {
        item,
        common: common.finish(),
        params,
        docs,
        output,
    }
}
