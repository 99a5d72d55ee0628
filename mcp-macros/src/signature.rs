//! The function under the attribute: its parameters (with `#[arg]` read and removed), and the
//! checks every item macro makes on its signature, name and `# Arguments` docs.

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, ItemFn, LitStr, Pat, ReturnType, Type};

use crate::attr;
use crate::ctxt::Ctxt;
use crate::docs::Docs;
use crate::param::{self, Param};

/// Words for messages, per macro.
pub(crate) struct Kind {
    /// `` `#[tool]` ``.
    pub(crate) attr: &'static str,
    /// "tool".
    pub(crate) noun: &'static str,
    /// Why the function cannot be generic.
    pub(crate) generic_reason: &'static str,
    /// What an `impl Trait` return would hide.
    pub(crate) return_reason: &'static str,
    /// The `#[arg]` keys accepted.
    pub(crate) arg_keys: &'static [&'static str],
}

/// Refuses a function that names `Self` (in its signature or body, outside nested items):
/// it is an associated function inside an `impl` block, where the expansion cannot register
/// it. Without `Self` or a receiver, the function's source file tells ([`crate::enclosing`]).
pub(crate) fn check_not_associated(cx: &Ctxt, item: &ItemFn, kind: &Kind) {
    struct FindSelf(Option<proc_macro2::Span>);
    impl<'ast> Visit<'ast> for FindSelf {
        fn visit_item(&mut self, _: &'ast syn::Item) {}
        fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
            if self.0.is_none() && segment.ident == "Self" {
                self.0 = Some(segment.ident.span());
            }
            syn::visit::visit_path_segment(self, segment);
        }
    }
    if item.sig.receiver().is_some() {
        return; // already refused, with its own message
    }
    let mut find = FindSelf(None);
    find.visit_item_fn(item);
    if find.0.is_none() {
        // No `Self` to go by: the source file says whether the function is in an `impl`.
        let block = match crate::enclosing::block_around(item.sig.ident.span()) {
            Some(crate::enclosing::Block::Impl) => "an `impl`",
            Some(crate::enclosing::Block::Trait) => "a `trait`",
            _ => return,
        };
        cx.error_spanned_by(
            &item.sig.ident,
            format!(
                "{attr} goes on a free function, not an associated function: `{name}` is inside \
                 {block} block, which cannot hold the registration {attr} adds beside the \
                 function; move `{name}` out of the block to module level (a value the \
                 methods shared becomes a `State<T>` parameter, given to the server with \
                 `.state(value)`)",
                attr = kind.attr,
                name = item.sig.ident,
            ),
        );
        return;
    }
    if let Some(span) = find.0 {
        cx.syn_error(syn::Error::new(
            span,
            format!(
                "{attr} goes on a free function, not an associated function: `{name}` names \
                 `Self`, so it is inside an `impl` block; move it out to module level and name \
                 the type instead of `Self`",
                attr = kind.attr,
                name = item.sig.ident,
            ),
        ));
    }
}

/// The function's parameters, with their `#[arg]` attributes read and removed.
pub(crate) fn params(cx: &Ctxt, item: &mut ItemFn, kind: &Kind) -> Vec<Param> {
    let mut params = Vec::new();
    for input in item.sig.inputs.iter_mut() {
        match input {
            FnArg::Receiver(r) => cx.error_spanned_by(
                &*r,
                format!(
                    "{attr} goes on a free function, not a method: move `{name}` out of the \
                     `impl` block to module level, and take what `self` held as a `State<T>` \
                     parameter (given to the server with `.state(value)`)",
                    attr = kind.attr,
                    name = item.sig.ident,
                ),
            ),
            FnArg::Typed(pt) => {
                let arg_attrs: Vec<_> = pt
                    .attrs
                    .iter()
                    .filter(|a| a.path().is_ident("arg"))
                    .cloned()
                    .collect();
                pt.attrs.retain(|a| !a.path().is_ident("arg"));
                let ident = match &*pt.pat {
                    Pat::Ident(p) if p.subpat.is_none() => p.ident.clone(),
                    other => {
                        cx.error_spanned_by(
                            other,
                            format!(
                                "{} parameters must be plain names, such as `city: String`; the name is the argument's name",
                                kind.noun
                            ),
                        );
                        continue;
                    }
                };
                let mut p = Param::new(ident, (*pt.ty).clone(), pt.span());
                for a in &arg_attrs {
                    param::parse_arg(cx, a, &mut p, kind.arg_keys);
                }
                params.push(p);
            }
        }
    }
    params
}

/// The declared return type; `None` for `()` left out.
pub(crate) fn output(item: &ItemFn) -> Option<Type> {
    match &item.sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    }
}

/// A name clients call the item by: 1 to 128 of `[A-Za-z0-9_.-]`.
pub(crate) fn check_name(cx: &Ctxt, name: Option<&LitStr>, kind: &Kind) {
    let Some(lit) = name else { return };
    let (name, span) = (lit.value(), lit.span());
    if name.is_empty() || name.len() > 128 {
        cx.syn_error(syn::Error::new(
            span,
            format!("a {} name has 1 to 128 characters", kind.noun),
        ));
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        cx.syn_error(syn::Error::new(
            span,
            format!(
                "a {} name uses only ASCII letters, digits, `_`, `-` and `.`; found {c:?}",
                kind.noun
            ),
        ));
    }
}

pub(crate) fn check_signature(cx: &Ctxt, sig: &syn::Signature, output: Option<&Type>, kind: &Kind) {
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &sig.generics,
            format!(
                "{} functions cannot be generic: {}",
                kind.attr, kind.generic_reason
            ),
        );
    }
    if let syn::Safety::Unsafe(token) = &sig.safety {
        cx.error_spanned_by(
            token,
            format!(
                "{} functions cannot be `unsafe`: clients call them with arbitrary input",
                kind.attr
            ),
        );
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned_by(v, format!("{} functions cannot be variadic", kind.attr));
    }
    if let Some(ty) = output
        && contains_impl_trait(ty)
    {
        cx.error_spanned_by(
            ty,
            format!(
                "{} functions must name their return type; `impl Trait` hides {}",
                kind.attr, kind.return_reason
            ),
        );
    }
}

/// Owned, concrete parameter types, and one name per argument.
pub(crate) fn check_params(cx: &Ctxt, params: &[Param], kind: &Kind) {
    let mut seen: Vec<&str> = Vec::new();
    for p in params {
        if let Some(r) = find_reference(&p.ty) {
            let hint = match &*r.elem {
                Type::Path(tp) if tp.path.is_ident("str") => "; use `String`",
                Type::Slice(_) => "; use a `Vec`",
                _ => "",
            };
            cx.error_spanned_by(
                r,
                format!(
                    "{} parameters take owned values, not references{hint}",
                    kind.noun
                ),
            );
        } else if contains_impl_trait(&p.ty) {
            cx.error_spanned_by(
                &p.ty,
                format!(
                    "{} parameters need a concrete type, not `impl Trait`",
                    kind.noun
                ),
            );
        }
        if seen.contains(&p.name.as_str()) {
            let message = format!("two arguments are named `{}`", p.name);
            match &p.rename {
                Some(r) => cx.error_spanned_by(r, message),
                None => cx.syn_error(syn::Error::new(p.span, message)),
            }
        }
        seen.push(&p.name);
    }
}

/// Gives parameters the descriptions of a rustdoc `# Arguments` list; an entry naming no
/// parameter is an error, with the closest parameter's name when there is one.
pub(crate) fn attach_argument_docs(cx: &Ctxt, docs: &Docs, params: &mut [Param], fn_name: &str) {
    for (name, desc, span) in &docs.arguments {
        let param = params
            .iter_mut()
            .find(|p| p.ident == name.as_str() || p.name == *name);
        if let Some(p) = param {
            if p.description.is_none() && !desc.is_empty() {
                p.description = Some(desc.clone());
            }
            continue;
        }
        let idents: Vec<String> = params.iter().map(|p| p.ident.to_string()).collect();
        let hint = match attr::did_you_mean(name, idents.iter().map(String::as_str)) {
            Some(close) => format!("; did you mean `{close}`?"),
            None => String::new(),
        };
        cx.syn_error(syn::Error::new(
            *span,
            format!(
                "the `# Arguments` list documents `{name}`, which is not a parameter of `{fn_name}`{hint}"
            ),
        ));
    }
}

fn find_reference(ty: &Type) -> Option<&syn::TypeReference> {
    struct Finder<'a>(Option<&'a syn::TypeReference>);
    impl<'ast> Visit<'ast> for Finder<'ast> {
        fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
            if self.0.is_none() {
                self.0 = Some(r);
            }
        }
    }
    let mut f = Finder(None);
    f.visit_type(ty);
    f.0
}

fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut f = Finder(false);
    f.visit_type(ty);
    f.0
}
