//! Client-controlled text made safe to write in a log line or quote in an error: control
//! characters escaped (so a newline cannot start a forged line, nor an escape sequence reach
//! a terminal), and long text cut short with the length it had.
//!
//! ```text
//! tracing::info!(client = ?Escaped(&name), "initialize");   // a log field
//! format!("Unknown tool: `{}`", Escaped(&name))              // an error that quotes a name
//! ```

use std::fmt::{self, Write as _};

/// How many characters of a client string a log line or an error quotes.
pub(crate) const QUOTED_CHARS: usize = 200;

/// The longest method, tool or prompt name accepted, in bytes; longer ones are refused
/// before dispatch.
pub(crate) const MAX_NAME_BYTES: usize = 256;

/// Displays a client string escaped and cut to [`QUOTED_CHARS`] characters. Its `Debug` is
/// the same in double quotes (with `"` escaped): the form for a log field (`field = ?Escaped(s)`),
/// where a space or a quote must not start a forged field.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, false)
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        self.write(f, true)?;
        f.write_char('"')
    }
}

impl Escaped<'_> {
    fn write(&self, f: &mut fmt::Formatter<'_>, quoted: bool) -> fmt::Result {
        let text = self.0;
        for (shown, c) in text.chars().enumerate() {
            if shown == QUOTED_CHARS {
                return write!(f, "…({} bytes)", text.len());
            }
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                '\\' => f.write_str("\\\\")?,
                '"' if quoted => f.write_str("\\\"")?,
                c if needs_escape(c) => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Control characters (C0, DEL, C1) and the invisible ones that reorder or hide text on a
/// terminal (bidirectional overrides and isolates, zero-width marks, the BOM).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
        )
}

/// `text` escaped and cut, as an owned string (for error messages).
pub(crate) fn quoted(text: &str) -> String {
    Escaped(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_forge_lines_or_reach_the_terminal() {
        assert_eq!(
            quoted("evil\n2026-01-01T00:00:00Z  INFO forged"),
            "evil\\n2026-01-01T00:00:00Z  INFO forged"
        );
        assert_eq!(
            quoted("\x1b[31mred\x1b[0m\r"),
            "\\u{1b}[31mred\\u{1b}[0m\\r"
        );
        assert_eq!(
            quoted("a\u{202e}b\u{0}c\u{85}"),
            "a\\u{202e}b\\u{0}c\\u{85}"
        );
        assert_eq!(quoted("back\\slash"), "back\\\\slash");
        assert_eq!(quoted("plain, ünïcode ✓"), "plain, ünïcode ✓");
    }

    #[test]
    fn the_debug_form_is_quoted_so_fields_cannot_be_forged() {
        assert_eq!(
            format!("{:?}", Escaped("x\" status=500 y=\"")),
            r#""x\" status=500 y=\"""#
        );
        assert_eq!(format!("{:?}", Escaped("tools/call")), "\"tools/call\"");
    }

    #[test]
    fn long_text_is_cut_with_its_length() {
        let long = "x".repeat(4 << 20);
        let q = quoted(&long);
        assert_eq!(q, format!("{}…({} bytes)", "x".repeat(200), 4 << 20));
        assert_eq!(quoted(&"y".repeat(200)), "y".repeat(200));
        // Cut on characters, never inside one.
        let wide = "é".repeat(300);
        assert!(quoted(&wide).starts_with(&"é".repeat(200)));
    }
}
