//! `#[derive(Form)]`: an elicitation form (a struct) or the choices of a form field (an enum
//! of unit variants), with each field's type checked where it is written.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Attribute, Data, DeriveInput, Fields, Generics, Type};

use crate::ctxt::Ctxt;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let cx = Ctxt::new();
    let mcp = quote!(::mcp_runtime::__private);
    let out = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => form(&input, fields.named.iter(), &mcp),
            _ => {
                cx.error_spanned_by(
                    &data.fields,
                    format!(
                        "a form is a struct with named fields (each becomes one field of the \
                         form): give the fields of `{}` names",
                        input.ident
                    ),
                );
                TokenStream::new()
            }
        },
        Data::Enum(data) => {
            for attr in input.attrs.iter().filter(|a| a.path().is_ident("serde")) {
                let _ = attr.parse_nested_meta(|meta| {
                    for key in ["untagged", "tag", "content"] {
                        if meta.path.is_ident(key) {
                            cx.error_spanned_by(&meta.path, untagged_message(key));
                        }
                    }
                    skip_value(&meta)
                });
            }
            if data.variants.is_empty() {
                cx.error_spanned_by(
                    &input.ident,
                    "a choice needs at least one variant to choose from",
                );
            }
            for variant in &data.variants {
                if !matches!(variant.fields, Fields::Unit) {
                    cx.error_spanned_by(
                        &variant.fields,
                        format!(
                            "a form field chooses among names, so each variant of `{}` must be \
                             a unit variant: `{}` carries data; ask for that data in fields of \
                             its own",
                            input.ident, variant.ident
                        ),
                    );
                }
            }
            let name = &input.ident;
            let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
            quote! {
                impl #impl_generics #mcp::FormField for #name #ty_generics #where_clause {}
                impl #impl_generics #mcp::FormChoice for #name #ty_generics #where_clause {}
            }
        }
        Data::Union(data) => {
            cx.error_spanned_by(
                data.union_token,
                "a form is a struct with named fields, or a choice an enum of unit variants; \
                 not a union",
            );
            TokenStream::new()
        }
    };
    match cx.check() {
        Ok(()) => out,
        Err(e) => e.to_compile_error(),
    }
}

/// How a field's type is checked.
enum Check {
    Field,
    Flatten,
    /// Skipped, or its schema is not its type's (`with`): checked when the form is sent.
    None,
}

fn check_of(attrs: &[Attribute]) -> Check {
    let mut check = Check::Field;
    for attr in attrs {
        let serde = attr.path().is_ident("serde");
        if !serde && !attr.path().is_ident("schemars") {
            continue;
        }
        let _ = attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            let skipped = p.is_ident("skip") || (serde && p.is_ident("skip_deserializing"));
            let schema_elsewhere =
                p.is_ident("with") || p.is_ident("deserialize_with") || p.is_ident("schema_with");
            if skipped || schema_elsewhere {
                check = Check::None;
            } else if p.is_ident("flatten") && matches!(check, Check::Field) {
                check = Check::Flatten;
            }
            skip_value(&meta)
        });
    }
    check
}

fn form<'a>(
    input: &DeriveInput,
    fields: impl Iterator<Item = &'a syn::Field>,
    mcp: &TokenStream,
) -> TokenStream {
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut bounds = Vec::new();
    let mut asserts = Vec::new();
    for field in fields {
        let ty = &field.ty;
        let span = ty.span();
        let (bound, assert) = match check_of(&field.attrs) {
            Check::None => continue,
            Check::Field => (
                quote_spanned!(span=> #ty: #mcp::FormField),
                // Every token at the field's type, so rustc underlines that type.
                quote_spanned!(span=> ::mcp_runtime::__private::AssertFormField<#ty>),
            ),
            Check::Flatten => (
                quote_spanned!(span=> #ty: #mcp::Form),
                quote_spanned!(span=> ::mcp_runtime::__private::AssertForm<#ty>),
            ),
        };
        // A type naming the struct's generics is bounded on the impl (checked where the form
        // is used); any other is asserted here, underlined where it is written.
        if mentions_generics(ty, &input.generics) {
            bounds.push(bound);
        } else {
            asserts.push(quote_spanned! {span=>
                const _: ::core::option::Option<#assert> = ::core::option::Option::None;
            });
        }
    }
    let where_clause = match (where_clause, bounds.is_empty()) {
        (None, true) => quote!(),
        (None, false) => quote!(where #(#bounds,)*),
        (Some(w), _) => {
            let predicates = &w.predicates;
            quote!(where #predicates, #(#bounds,)*)
        }
    };
    quote! {
        impl #impl_generics #mcp::Form for #name #ty_generics #where_clause {}
        #(#asserts)*
    }
}

/// Whether `ty` names one of `generics`' type or const parameters.
fn mentions_generics(ty: &Type, generics: &Generics) -> bool {
    struct Find<'a> {
        generics: &'a Generics,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Find<'_> {
        fn visit_ident(&mut self, ident: &'ast proc_macro2::Ident) {
            if self.generics.type_params().any(|p| p.ident == *ident)
                || self.generics.const_params().any(|p| p.ident == *ident)
            {
                self.found = true;
            }
        }
    }
    let mut find = Find {
        generics,
        found: false,
    };
    find.visit_type(ty);
    find.found
}

/// Steps over the value of a `serde`/`schemars` option this derive does not read
/// (`= expr`, or `(…)`), so that the options after it are still seen.
fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _: proc_macro2::Group = meta.input.parse()?;
    }
    Ok(())
}

fn untagged_message(key: &str) -> String {
    let becomes = if key == "untagged" {
        "null"
    } else {
        "an object"
    };
    format!(
        "a form's choice is sent as the variant's name, a string: remove `#[serde({key})]`, \
         which makes it {becomes}"
    )
}
