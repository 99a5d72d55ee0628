//! Checks that need the whole tool: names, signature shape, docs against parameters.

use syn::{Type, visit::Visit};

use super::parse::Tool;
use crate::ctxt::Ctxt;

pub(crate) fn validate(cx: &Ctxt, tool: &mut Tool) {
    check_name(cx, tool);
    check_signature(cx, tool);
    check_params(cx, tool);
    attach_argument_docs(cx, tool);
}

fn check_name(cx: &Ctxt, tool: &Tool) {
    let (name, span) = match &tool.options.name {
        Some(lit) => (lit.value(), lit.span()),
        None => return,
    };
    if name.is_empty() || name.len() > 128 {
        cx.syn_error(syn::Error::new(span, "a tool name has 1 to 128 characters"));
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        cx.syn_error(syn::Error::new(
            span,
            format!("a tool name uses only ASCII letters, digits, `_`, `-` and `.`; found {c:?}"),
        ));
    }
}

fn check_signature(cx: &Ctxt, tool: &Tool) {
    let sig = &tool.item.sig;
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &sig.generics,
            "`#[tool]` functions cannot be generic: each argument's JSON Schema is fixed at compile time",
        );
    }
    if let syn::Safety::Unsafe(token) = &sig.safety {
        cx.error_spanned_by(
            token,
            "`#[tool]` functions cannot be `unsafe`: clients call them with arbitrary input",
        );
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned_by(v, "`#[tool]` functions cannot be variadic");
    }
    if let Some(ty) = &tool.output
        && contains_impl_trait(ty)
    {
        cx.error_spanned_by(
                ty,
                "`#[tool]` functions must name their return type; `impl Trait` hides the type the output schema comes from",
            );
    }
    if tool.options.blocking && sig.asyncness.is_some() {
        cx.error_spanned_by(
            sig.asyncness,
            "`blocking` is for sync functions; an `async fn` already runs without blocking",
        );
    }
}

fn check_params(cx: &Ctxt, tool: &Tool) {
    let mut seen: Vec<&str> = Vec::new();
    for p in &tool.params {
        if let Some(r) = find_reference(&p.ty) {
            let hint = match &*r.elem {
                Type::Path(tp) if tp.path.is_ident("str") => "; use `String`",
                Type::Slice(_) => "; use a `Vec`",
                _ => "",
            };
            cx.error_spanned_by(
                r,
                format!("tool parameters take owned values, not references{hint}"),
            );
        } else if contains_impl_trait(&p.ty) {
            cx.error_spanned_by(
                &p.ty,
                "tool parameters need a concrete type, not `impl Trait`",
            );
        }
        if seen.contains(&p.name.as_str()) {
            match &p.rename {
                Some(r) => cx.error_spanned_by(r, format!("two arguments are named `{}`", p.name)),
                None => cx.syn_error(syn::Error::new(
                    p.span,
                    format!("two arguments are named `{}`", p.name),
                )),
            }
        }
        seen.push(&p.name);
    }
}

fn attach_argument_docs(cx: &Ctxt, tool: &mut Tool) {
    let fn_name = tool.item.sig.ident.to_string();
    for (name, desc, span) in &tool.docs.arguments {
        let param = tool
            .params
            .iter_mut()
            .find(|p| p.ident == name.as_str() || p.name == *name);
        match param {
            Some(p) => {
                if p.description.is_none() && !desc.is_empty() {
                    p.description = Some(desc.clone());
                }
            }
            None => cx.syn_error(syn::Error::new(
                *span,
                format!("the `# Arguments` list documents `{name}`, which is not a parameter of `{fn_name}`"),
            )),
        }
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
