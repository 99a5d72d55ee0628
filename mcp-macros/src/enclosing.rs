//! Whether an item is written directly inside an `impl` or `trait` block, read from its source
//! file. An attribute macro sees only its own item, and the registration the item macros add
//! next to the function (a `const _` block) cannot go in an `impl`, where rustc then reports
//! "`const` items in this context need a name" before anything the macro could say. The
//! function's span names its file and line, so the macro reads the file once (per file and
//! compilation) and finds the innermost `{ … }` around that point; only when it is the body of
//! an `impl` or `trait` does the macro refuse the function with its own message.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

/// What a `{` opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    Impl,
    Trait,
    Other,
}

/// A source file's line starts and its brace pairs (byte offsets), as found by [`scan`].
struct Layout {
    lines: Vec<usize>,
    blocks: Vec<(usize, usize, Block)>,
}

thread_local! {
    static FILES: RefCell<HashMap<PathBuf, Option<Rc<Layout>>>> = RefCell::new(HashMap::new());
}

/// The block the span's start is directly in, when the span comes from a readable local file.
pub(crate) fn block_around(span: proc_macro2::Span) -> Option<Block> {
    if !proc_macro::is_available() {
        return None;
    }
    let span = span.unwrap();
    let path = span.local_file()?;
    let (line, column) = (span.line(), span.column());
    let layout = FILES.with(|files| {
        files
            .borrow_mut()
            .entry(path.clone())
            .or_insert_with(|| {
                let text = std::fs::read_to_string(&path).ok()?;
                Some(Rc::new(scan(&text)))
            })
            .clone()
    })?;
    let start = *layout.lines.get(line.checked_sub(1)?)?;
    // The column counts characters from 1; a byte or two off lands on the same side of every
    // brace, since an identifier is never next to one.
    let at = start + column.saturating_sub(1);
    innermost(&layout.blocks, at)
}

fn innermost(blocks: &[(usize, usize, Block)], at: usize) -> Option<Block> {
    blocks
        .iter()
        .filter(|(open, close, _)| *open < at && at < *close)
        .max_by_key(|(open, _, _)| *open)
        .map(|(_, _, b)| *b)
}

/// What a block's header (the text since the previous `;`, `{` or `}`) makes it: an `impl`
/// or `trait` item once attributes and qualifiers are set aside.
fn classify(header: &str) -> Block {
    let mut rest = header.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("#") {
            // An attribute: skip to its closing bracket.
            let mut depth = 0usize;
            let mut end = None;
            for (i, c) in after.char_indices() {
                match c {
                    '[' => depth += 1,
                    ']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            match end {
                Some(e) => rest = after[e..].trim_start(),
                None => return Block::Other,
            }
            continue;
        }
        let word_end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let word = &rest[..word_end];
        match word {
            "impl" => return Block::Impl,
            "trait" => return Block::Trait,
            "pub" => {
                rest = rest[word_end..].trim_start();
                if rest.starts_with('(')
                    && let Some(close) = rest.find(')')
                {
                    rest = rest[close + 1..].trim_start();
                }
            }
            "unsafe" | "default" | "auto" => rest = rest[word_end..].trim_start(),
            _ => return Block::Other,
        }
    }
}

/// Finds every `{ … }` of Rust source with what opened it, past comments, strings and
/// character literals.
fn scan(text: &str) -> Layout {
    let bytes = text.as_bytes();
    let mut lines = vec![0];
    let mut blocks = Vec::new();
    let mut open: Vec<(usize, Block)> = Vec::new();
    let mut header = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                lines.push(i + 1);
                header.push(' ');
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < bytes.len() && depth > 0 {
                    if bytes[i] == b'\n' {
                        lines.push(i + 1);
                    }
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 1;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 1;
                    }
                    i += 1;
                }
                header.push(' ');
            }
            b'"' => {
                i = skip_string(bytes, i + 1, 0, &mut lines);
                header.push_str("\"\"");
            }
            b'r' | b'b' if is_literal_start(bytes, i) => {
                let mut j = i;
                if bytes[j] == b'b' {
                    j += 1;
                }
                if bytes.get(j) == Some(&b'r') {
                    j += 1;
                    let mut hashes = 0;
                    while bytes.get(j) == Some(&b'#') {
                        hashes += 1;
                        j += 1;
                    }
                    i = skip_string(bytes, j + 1, hashes, &mut lines);
                } else if bytes.get(j) == Some(&b'\'') {
                    i = skip_char(bytes, j + 1);
                } else {
                    i = skip_string(bytes, j + 1, 0, &mut lines);
                }
                header.push_str("\"\"");
            }
            b'\'' => {
                // A character literal, or a lifetime (which has no closing quote).
                if bytes.get(i + 1) == Some(&b'\\')
                    || text[i + 1..].chars().nth(1).is_some_and(|c| c == '\'')
                {
                    i = skip_char(bytes, i + 1);
                    header.push_str("' '");
                } else {
                    header.push('\'');
                    i += 1;
                }
            }
            b'{' => {
                open.push((i, classify(&header)));
                header.clear();
                i += 1;
            }
            b'}' => {
                if let Some((start, kind)) = open.pop() {
                    blocks.push((start, i, kind));
                }
                header.clear();
                i += 1;
            }
            b';' => {
                header.clear();
                i += 1;
            }
            _ => {
                // Whole characters, so that slicing stays on boundaries.
                let c = text[i..].chars().next().unwrap_or(' ');
                header.push(c);
                i += c.len_utf8();
            }
        }
    }
    Layout { lines, blocks }
}

/// Whether `r"`, `r#"`, `b"`, `br"`, `b'` starts at `i` (and not an identifier such as `bar`).
fn is_literal_start(bytes: &[u8], i: usize) -> bool {
    if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
        return false;
    }
    let mut j = i;
    if bytes[j] == b'b' {
        j += 1;
        if bytes.get(j) == Some(&b'\'') || bytes.get(j) == Some(&b'"') {
            return true;
        }
    }
    if bytes.get(j) == Some(&b'r') {
        j += 1;
        while bytes.get(j) == Some(&b'#') {
            j += 1;
        }
        return bytes.get(j) == Some(&b'"');
    }
    false
}

/// The offset after a string whose body starts at `i`, closed by `"` and `hashes` `#`s.
fn skip_string(bytes: &[u8], mut i: usize, hashes: usize, lines: &mut Vec<usize>) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => lines.push(i + 1),
            b'\\' if hashes == 0 => i += 1,
            b'"' if bytes
                .get(i + 1..i + 1 + hashes)
                .is_some_and(|s| s.iter().all(|b| *b == b'#')) =>
            {
                return i + 1 + hashes;
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// The offset after a character literal whose body starts at `i`.
fn skip_char(bytes: &[u8], mut i: usize) -> usize {
    if bytes.get(i) == Some(&b'\\') {
        i += 2;
    }
    while i < bytes.len() && bytes[i] != b'\'' {
        i += 1;
    }
    i + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, marker: &str) -> Option<Block> {
        let layout = scan(text);
        innermost(&layout.blocks, text.find(marker).unwrap())
    }

    #[test]
    fn finds_impl_and_trait_bodies_past_comments_and_literals() {
        let src = r##"
            // impl Fake {
            /* impl Nope { */
            mod m {
                const S: &str = "impl { \" }";
                const R: &str = r#"trait { "#;
                const C: char = '{';
                fn life<'a>(x: &'a str) -> impl Iterator<Item = char> + 'a { x.chars() /* FREE_IN_FN */ }
                #[derive(Debug)]
                pub(crate) unsafe impl<T: Send> Send for W<T> where T: Clone {
                    fn assoc() { let inner = { 1 }; /* IN_FN_BODY */ }
                    /* IN_IMPL */
                }
                pub trait Tr { /* IN_TRAIT */ }
                /* IN_MOD */
            }
        "##;
        assert_eq!(at(src, "FREE_IN_FN"), Some(Block::Other));
        assert_eq!(at(src, "IN_FN_BODY"), Some(Block::Other));
        assert_eq!(at(src, "IN_IMPL"), Some(Block::Impl));
        assert_eq!(at(src, "IN_TRAIT"), Some(Block::Trait));
        assert_eq!(at(src, "IN_MOD"), Some(Block::Other));
        let layout = scan(src);
        assert_eq!(layout.lines.len(), src.matches('\n').count() + 1);
    }

    #[test]
    fn headers_are_classified_by_their_first_word() {
        assert_eq!(classify("\n  #[cfg(test)] impl Foo"), Block::Impl);
        assert_eq!(classify("pub(super) trait X: Y"), Block::Trait);
        assert_eq!(classify("unsafe impl Send for X"), Block::Impl);
        assert_eq!(classify("fn f() -> impl Fn()"), Block::Other);
        assert_eq!(classify("mod m"), Block::Other);
        assert_eq!(classify("let x = y"), Block::Other);
    }
}
