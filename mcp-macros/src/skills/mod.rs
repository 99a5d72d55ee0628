//! `include_skills!("dir")`: a skills tree embedded in the binary.
//!
//! The directory (relative to the crate's `Cargo.toml`) is walked when the crate compiles;
//! each regular file becomes an `EmbeddedFile { path, bytes: include_bytes!(…) }`, so that
//! cargo rebuilds when one of them changes. Hidden entries are skipped; a symbolic link or
//! a name that is not UTF-8 is a compile error. The skills rules (front matter, limits) are
//! checked by the server when it is built, as for a directory on disk.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use std::path::{Path, PathBuf};

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match expand_inner(input) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn expand_inner(input: TokenStream) -> syn::Result<TokenStream> {
    let lit: syn::LitStr = syn::parse2(input).map_err(|e| {
        syn::Error::new(
            e.span(),
            "include_skills! takes one string: the skills directory, relative to Cargo.toml (`include_skills!(\"skills\")`)",
        )
    })?;
    let span = lit.span();
    let manifest = std::env::var("CARGO_MANIFEST_DIR").map_err(|_| {
        syn::Error::new(
            span,
            "include_skills!: CARGO_MANIFEST_DIR is not set (build with cargo)",
        )
    })?;
    let root = Path::new(&manifest).join(lit.value());
    let mut files = Vec::new();
    walk(&root, "", &mut files, span, 0)?;
    files.sort();
    let private = crate::paths::private(None);
    let entries = files.iter().map(|(rel, abs)| {
        let abs = abs.to_string_lossy();
        quote! {
            #private::EmbeddedFile { path: #rel, bytes: ::core::include_bytes!(#abs) }
        }
    });
    Ok(quote! {{
        const FILES: &[#private::EmbeddedFile] = &[#(#entries),*];
        FILES
    }})
}

fn walk(
    dir: &Path,
    rel: &str,
    out: &mut Vec<(String, PathBuf)>,
    span: Span,
    depth: usize,
) -> syn::Result<()> {
    let err = |msg: String| syn::Error::new(span, msg);
    if depth > 32 {
        return Err(err(format!(
            "include_skills!: `{}` is nested more than 32 directories deep",
            dir.display()
        )));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| {
        err(format!(
            "include_skills!: cannot read `{}`: {e}",
            dir.display()
        ))
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| {
            err(format!(
                "include_skills!: cannot read `{}`: {e}",
                dir.display()
            ))
        })?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            return Err(err(format!(
                "include_skills!: `{}` has a name that is not UTF-8",
                path.display()
            )));
        };
        if name.starts_with('.') {
            continue;
        }
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let kind = entry.file_type().map_err(|e| {
            err(format!(
                "include_skills!: cannot read `{}`: {e}",
                path.display()
            ))
        })?;
        if kind.is_symlink() {
            return Err(err(format!(
                "include_skills!: `{}` is a symbolic link; skills are served from regular files inside the tree only (copy the file in instead)",
                path.display()
            )));
        } else if kind.is_dir() {
            walk(&path, &child, out, span, depth + 1)?;
        } else if kind.is_file() {
            out.push((child, path));
        }
    }
    Ok(())
}
