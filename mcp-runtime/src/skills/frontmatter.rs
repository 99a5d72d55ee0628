//! The YAML front matter of a `SKILL.md`, as JSON.
//!
//! Agent Skills front matter is small and flat: a mapping of `name`, `description`,
//! `license`, `compatibility`, `allowed-tools` and `metadata` (a mapping of strings), plus
//! whatever fields an author adds. This parser reads the part of YAML such front matter uses
//! and refuses the rest with an error naming the line and the construct, rather than guess:
//! the skills extension requires the `frontmatter` of a skill entry to be identical to what
//! a YAML parser makes of the file, so a construct read differently here than by a client's
//! parser would make every such client reject the skill.
//!
//! What is read, as a YAML 1.2 (core schema) parser reads it:
//! - a top-level block mapping with plain keys (`name: …`), `#` comments and blank lines;
//! - plain scalars on one line or continued on more-indented lines, typed by the core schema
//!   (`null`, `~`, `true`, `false`, integers, floats; everything else a string);
//! - single- and double-quoted scalars on one line (with their escapes);
//! - literal (`|`) and folded (`>`) block scalars with the `-`/`+` chomping indicators;
//! - one level of nesting: a block mapping (e.g. `metadata:`) or a block sequence (`- item`)
//!   of scalars under a key.
//!
//! What is refused: anchors, aliases and tags, flow collections (`[…]`, `{…}`), multi-line
//! quoted scalars, complex keys, duplicate keys, tabs in indentation, deeper nesting.

use serde_json::{Map, Number, Value};

/// The front matter block of a `SKILL.md`: the text between the leading `---` line and the
/// next `---` line (a UTF-8 byte order mark before it is skipped). `None` when the file does
/// not start with one.
pub fn split(text: &str) -> Option<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    // The closing delimiter: a line that is `---` (trailing blanks allowed).
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare.trim_end_matches([' ', '\t']) == "---" {
            let body = &rest[..offset];
            return Some(
                body.strip_suffix("\r\n")
                    .or_else(|| body.strip_suffix('\n'))
                    .unwrap_or(body),
            );
        }
        offset += line.len();
    }
    // `---` right after the opening line: empty front matter.
    None
}

/// Parses front matter text (without its `---` lines) into a JSON object.
pub fn parse(text: &str) -> Result<Map<String, Value>, String> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut parser = Parser { lines, at: 0 };
    parser.mapping(0)
}

struct Parser<'a> {
    lines: Vec<&'a str>,
    at: usize,
}

/// Leading spaces; tabs in indentation are an error.
fn indent_of(line: &str, number: usize) -> Result<usize, String> {
    let n = line.len() - line.trim_start_matches(' ').len();
    if line[n..].starts_with('\t') {
        return Err(format!(
            "line {number}: a tab in indentation (YAML indents with spaces)"
        ));
    }
    Ok(n)
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start_matches([' ', '\t']);
    t.is_empty() || t.starts_with('#')
}

impl<'a> Parser<'a> {
    /// Skips blank and comment lines; the next line's index, if any.
    fn next_content(&mut self) -> Option<usize> {
        while self.at < self.lines.len() && is_blank_or_comment(self.lines[self.at]) {
            self.at += 1;
        }
        (self.at < self.lines.len()).then_some(self.at)
    }

    /// A block mapping whose keys sit at `indent`.
    fn mapping(&mut self, indent: usize) -> Result<Map<String, Value>, String> {
        let mut map = Map::new();
        while let Some(i) = self.next_content() {
            let line = self.lines[i];
            let number = i + 1;
            let n = indent_of(line, number)?;
            if n < indent {
                break;
            }
            if n > indent {
                return Err(format!("line {number}: unexpected indentation"));
            }
            let body = &line[n..];
            if body.starts_with("---") || body.starts_with("...") {
                return Err(format!(
                    "line {number}: a second YAML document (`{}`) in the front matter",
                    &body[..3]
                ));
            }
            if body.starts_with("- ") || body == "-" {
                return Err(format!(
                    "line {number}: a sequence item where a `key: value` line belongs"
                ));
            }
            if body.starts_with('?') {
                return Err(format!(
                    "line {number}: complex mapping keys are not supported"
                ));
            }
            let (key, rest) = split_key(body, number)?;
            if map.contains_key(&key) {
                return Err(format!("line {number}: the key `{key}` appears twice"));
            }
            self.at += 1;
            let value = self.value(rest, n, number, indent == 0)?;
            map.insert(key, value);
        }
        Ok(map)
    }

    /// The value after `key:` on line `number`, whose key sits at `indent`.
    fn value(
        &mut self,
        rest: &str,
        indent: usize,
        number: usize,
        may_nest: bool,
    ) -> Result<Value, String> {
        let rest = rest.trim();
        if rest.starts_with('"') || rest.starts_with('\'') {
            return quoted(rest, number).map(Value::String);
        }
        let rest = strip_comment(rest).trim();
        if rest.is_empty() {
            // A nested block, or null.
            let Some(i) = self.next_content() else {
                return Ok(Value::Null);
            };
            let line = self.lines[i];
            let n = indent_of(line, i + 1)?;
            let body = &line[n..];
            let is_item = body.starts_with("- ") || body == "-";
            if is_item && n >= indent {
                if !may_nest {
                    return Err(format!("line {}: nesting deeper than one level", i + 1));
                }
                return self.sequence(n).map(Value::Array);
            }
            if n > indent {
                if !may_nest {
                    return Err(format!("line {}: nesting deeper than one level", i + 1));
                }
                return self.mapping(n).map(Value::Object);
            }
            return Ok(Value::Null);
        }
        if let Some(header) = rest.strip_prefix('|') {
            return self
                .block_scalar(header, false, indent, number)
                .map(Value::String);
        }
        if let Some(header) = rest.strip_prefix('>') {
            return self
                .block_scalar(header, true, indent, number)
                .map(Value::String);
        }
        check_plain_start(rest, number)?;
        // Continuation lines of a multi-line plain scalar are more indented than the key.
        let mut text = rest.to_string();
        let mut pending_newlines = 0;
        let mut continued = false;
        let resume = self.at;
        while self.at < self.lines.len() {
            let line = self.lines[self.at];
            let t = line.trim_start_matches(' ');
            if t.trim().is_empty() {
                pending_newlines += 1;
                self.at += 1;
                continue;
            }
            let n = indent_of(line, self.at + 1)?;
            if n <= indent || t.starts_with('#') {
                break;
            }
            let part = strip_comment(t).trim();
            if part.contains(": ") || part.ends_with(':') {
                return Err(format!(
                    "line {}: `key: value` inside a multi-line plain scalar (quote the value)",
                    self.at + 1
                ));
            }
            if pending_newlines > 0 {
                text.extend(std::iter::repeat_n('\n', pending_newlines));
            } else {
                text.push(' ');
            }
            pending_newlines = 0;
            continued = true;
            text.push_str(part);
            let commented = part.len() < t.trim().len();
            self.at += 1;
            if commented {
                break;
            }
        }
        if continued {
            return Ok(Value::String(text));
        }
        // Blank lines after a one-line value belong to nothing.
        self.at = resume.max(self.at - pending_newlines);
        plain_scalar(&text, number)
    }

    /// The items of a block sequence at `indent`: scalars only.
    fn sequence(&mut self, indent: usize) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        while let Some(i) = self.next_content() {
            let line = self.lines[i];
            let number = i + 1;
            let n = indent_of(line, number)?;
            let body = &line[n..];
            if n != indent || !(body.starts_with("- ") || body == "-") {
                if n > indent {
                    return Err(format!("line {number}: unexpected indentation"));
                }
                break;
            }
            let raw = body[1..].trim();
            let item = strip_comment(raw).trim();
            self.at += 1;
            if raw.starts_with('"') || raw.starts_with('\'') {
                items.push(Value::String(quoted(raw, number)?));
            } else if item.is_empty() {
                items.push(Value::Null);
            } else {
                check_plain_start(item, number)?;
                if item.starts_with("- ") || item.contains(": ") || item.ends_with(':') {
                    return Err(format!("line {number}: nesting deeper than one level"));
                }
                items.push(plain_scalar(item, number)?);
            }
        }
        Ok(items)
    }

    /// A `|` or `>` block scalar; `header` is what follows the indicator.
    fn block_scalar(
        &mut self,
        header: &str,
        folded: bool,
        indent: usize,
        number: usize,
    ) -> Result<String, String> {
        let chomp = match header.trim() {
            "" => Chomp::Clip,
            "-" => Chomp::Strip,
            "+" => Chomp::Keep,
            other => {
                return Err(format!(
                    "line {number}: block scalar header `{other}` is not supported (use `|`, `|-`, `|+`, `>`, `>-` or `>+`)"
                ));
            }
        };
        // The content's indentation: that of its first non-blank line.
        let mut content_indent = None;
        let start = self.at;
        let mut end = self.at;
        while end < self.lines.len() {
            let line = self.lines[end];
            if line.trim().is_empty() {
                end += 1;
                continue;
            }
            let n = indent_of(line, end + 1)?;
            match content_indent {
                None if n > indent => content_indent = Some(n),
                None => break,
                Some(c) if n < c => break,
                Some(_) => {}
            }
            end += 1;
        }
        // Trailing blank lines after the last content line belong to the chomping.
        let mut last = end;
        while last > start && self.lines[last - 1].trim().is_empty() {
            last -= 1;
        }
        let trailing_blank = end - last;
        self.at = end;
        let Some(c) = content_indent else {
            return Ok(match chomp {
                Chomp::Keep => "\n".repeat(end - start),
                _ => String::new(),
            });
        };
        let lines: Vec<&str> = self.lines[start..last]
            .iter()
            .map(|l| if l.len() >= c { &l[c..] } else { "" })
            .collect();
        let mut out = String::new();
        if folded {
            // Lines are joined by a space; blank lines stand for newlines; more-indented
            // lines keep their line breaks.
            let mut prev_more = false;
            let mut first = true;
            let mut blanks = 0;
            for line in &lines {
                if line.is_empty() {
                    blanks += 1;
                    continue;
                }
                let more = line.starts_with(' ');
                if !first {
                    if blanks > 0 {
                        let extra = usize::from(prev_more || more);
                        out.extend(std::iter::repeat_n('\n', blanks + extra));
                    } else if more || prev_more {
                        out.push('\n');
                    } else {
                        out.push(' ');
                    }
                } else {
                    out.extend(std::iter::repeat_n('\n', blanks));
                }
                blanks = 0;
                first = false;
                prev_more = more;
                out.push_str(line);
            }
        } else {
            out = lines.join("\n");
        }
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => out.push('\n'),
            Chomp::Keep => {
                out.push('\n');
                out.extend(std::iter::repeat_n('\n', trailing_blank));
            }
        }
        Ok(out)
    }
}

enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// `key: rest` → (key, rest).
fn split_key(body: &str, number: usize) -> Result<(String, &str), String> {
    if body.starts_with('"') || body.starts_with('\'') {
        return Err(format!(
            "line {number}: quoted keys are not supported (write the key plainly)"
        ));
    }
    let colon = body
        .find(": ")
        .or_else(|| body.ends_with(':').then(|| body.len() - 1))
        .ok_or_else(|| format!("line {number}: expected `key: value`, found `{body}`"))?;
    let key = &body[..colon];
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        return Err(format!(
            "line {number}: the key `{key}` must be letters, digits, `-`, `_`, `.` or `/`"
        ));
    }
    Ok((key.to_string(), &body[colon + 1..]))
}

/// Drops a ` #` comment from a plain value.
fn strip_comment(s: &str) -> &str {
    if s.starts_with('#') {
        return "";
    }
    match s.find(" #").or_else(|| s.find("\t#")) {
        Some(i) => &s[..i],
        None => s,
    }
}

/// Refuses plain scalars that begin with a YAML indicator this parser does not read.
fn check_plain_start(s: &str, number: usize) -> Result<(), String> {
    let what = match s.as_bytes()[0] {
        b'&' => "anchors (`&`)",
        b'*' => "aliases (`*`)",
        b'!' => "tags (`!`)",
        b'[' | b'{' => "flow collections (`[…]`, `{…}`)",
        b'@' | b'`' => "values starting with `@` or a backquote (quote them)",
        b'%' => "directives (`%`)",
        b']' | b'}' | b',' => "values starting with `]`, `}` or `,` (quote them)",
        _ => {
            if s.contains(": ") || s.ends_with(':') {
                return Err(format!(
                    "line {number}: `key: value` inside a value (quote the value)"
                ));
            }
            return Ok(());
        }
    };
    Err(format!("line {number}: {what} are not supported"))
}

/// A quoted scalar on one line.
fn quoted(s: &str, number: usize) -> Result<String, String> {
    let quote = s.as_bytes()[0];
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        if quote == b'\'' {
            if c == '\'' {
                if s[1 + i + 1..].starts_with('\'') {
                    out.push('\'');
                    chars.next();
                    continue;
                }
                return finish(out, &s[1 + i + 1..], number);
            }
            out.push(c);
            continue;
        }
        match c {
            '"' => return finish(out, &s[1 + i + 1..], number),
            '\\' => {
                let (_, e) = chars
                    .next()
                    .ok_or_else(|| format!("line {number}: a `\\` ends the line"))?;
                let mut hex = |n: usize| -> Result<char, String> {
                    let digits: String = (0..n)
                        .filter_map(|_| chars.next().map(|(_, c)| c))
                        .collect();
                    u32::from_str_radix(&digits, 16)
                        .ok()
                        .filter(|_| digits.len() == n)
                        .and_then(char::from_u32)
                        .ok_or_else(|| format!("line {number}: bad escape `\\{e}{digits}`"))
                };
                out.push(match e {
                    '0' => '\0',
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    't' | '\t' => '\t',
                    'n' => '\n',
                    'v' => '\u{b}',
                    'f' => '\u{c}',
                    'r' => '\r',
                    'e' => '\u{1b}',
                    ' ' => ' ',
                    '"' => '"',
                    '/' => '/',
                    '\\' => '\\',
                    'N' => '\u{85}',
                    '_' => '\u{a0}',
                    'L' => '\u{2028}',
                    'P' => '\u{2029}',
                    'x' => hex(2)?,
                    'u' => hex(4)?,
                    'U' => hex(8)?,
                    other => return Err(format!("line {number}: unknown escape `\\{other}`")),
                });
            }
            c => out.push(c),
        }
    }
    Err(format!(
        "line {number}: the quoted value does not end on its line (multi-line quoted values are not supported)"
    ))
}

/// What may follow a closing quote: blanks and a comment.
fn finish(value: String, after: &str, number: usize) -> Result<String, String> {
    let after = after.trim_start();
    if after.is_empty() || after.starts_with('#') {
        Ok(value)
    } else {
        Err(format!("line {number}: `{after}` after the closing quote"))
    }
}

/// A one-line plain scalar, typed by the YAML 1.2 core schema.
fn plain_scalar(s: &str, number: usize) -> Result<Value, String> {
    Ok(match s {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => {
            if let Some(n) = core_number(s) {
                n.ok_or_else(|| {
                    format!("line {number}: `{s}` is not a finite number JSON can carry (quote it)")
                })?
            } else {
                Value::String(s.to_string())
            }
        }
    })
}

/// `Some` when `s` is a number by the core schema; `Some(None)` when it is one JSON cannot
/// carry (infinity, NaN).
fn core_number(s: &str) -> Option<Option<Value>> {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return Some(None);
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return (!oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b)))
            .then(|| int_value(i128::from_str_radix(oct, 8).ok()));
    }
    if let Some(hex) = s.strip_prefix("0x") {
        return (!hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| int_value(i128::from_str_radix(hex, 16).ok()));
    }
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return Some(int_value(s.parse::<i128>().ok()).or_else(|| float_value(s)));
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let b = unsigned.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let int_digits = digits(&mut i);
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        frac_digits = digits(&mut i);
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    (i == b.len()).then(|| float_value(s))
}

fn int_value(n: Option<i128>) -> Option<Value> {
    let n = n?;
    if let Ok(v) = i64::try_from(n) {
        Some(Value::Number(v.into()))
    } else if let Ok(v) = u64::try_from(n) {
        Some(Value::Number(v.into()))
    } else {
        Number::from_f64(n as f64).map(Value::Number)
    }
}

fn float_value(s: &str) -> Option<Value> {
    let f: f64 = s.parse().ok()?;
    // Whole floats stay floats in JSON text only as far as serde_json keeps them; a YAML
    // parser in JavaScript makes `1.0` the number 1, and JSON equality compares numbers.
    Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fm(text: &str) -> Value {
        Value::Object(parse(text).unwrap())
    }

    #[test]
    fn splits_the_block_off_the_file() {
        assert_eq!(split("---\nname: a\n---\nbody"), Some("name: a"));
        assert_eq!(
            split("\u{feff}---\r\nname: a\r\n---  \r\nbody"),
            Some("name: a")
        );
        assert_eq!(split("---\nname: a\n---"), Some("name: a"));
        assert_eq!(split("# no front matter\n---\n"), None);
        assert_eq!(split("---\nname: a\n"), None, "no closing line");
    }

    #[test]
    fn reads_the_fields_of_agent_skills() {
        let v = fm("name: pdf-processing\n\
             description: Extract text and tables from PDF files. Use when handling PDFs.\n\
             license: Apache-2.0\n\
             allowed-tools: Bash(git:*) Read\n\
             metadata:\n  author: example-org\n  version: \"1.0\"\n");
        assert_eq!(
            v,
            json!({
                "name": "pdf-processing",
                "description": "Extract text and tables from PDF files. Use when handling PDFs.",
                "license": "Apache-2.0",
                "allowed-tools": "Bash(git:*) Read",
                "metadata": {"author": "example-org", "version": "1.0"}
            })
        );
    }

    #[test]
    fn types_plain_scalars_by_the_core_schema() {
        let v =
            fm("a: 1\nb: -2.5\nc: true\nd: ~\ne: 0x1f\nf: 1e3\ng: 1.0.0\nh: yes\ni:\nj: 'it''s'\n");
        assert_eq!(
            v,
            json!({"a": 1, "b": -2.5, "c": true, "d": null, "e": 31, "f": 1000.0,
                   "g": "1.0.0", "h": "yes", "i": null, "j": "it's"})
        );
        assert!(parse("a: .inf").unwrap_err().contains("quote it"));
    }

    #[test]
    fn reads_block_and_multi_line_scalars() {
        let v = fm(
            "a: |\n  one\n  two\n\nb: >-\n  folded\n  text\n\n  para\nc: plain\n  continued\n  # comment\nd: \"q\\t\\u00e9\" # c\n",
        );
        assert_eq!(
            v,
            json!({"a": "one\ntwo\n", "b": "folded text\npara", "c": "plain continued", "d": "q\t\u{e9}"})
        );
        let v = fm("keep: |+\n  x\n\n\nnext: 1\n");
        assert_eq!(v, json!({"keep": "x\n\n\n", "next": 1}));
    }

    #[test]
    fn reads_sequences_under_a_key() {
        assert_eq!(
            fm("tags:\n  - a\n  - 'b c'\n"),
            json!({"tags": ["a", "b c"]})
        );
        assert_eq!(
            fm("tags:\n- a\n- 2\nx: y"),
            json!({"tags": ["a", 2], "x": "y"})
        );
    }

    #[test]
    fn refuses_what_it_does_not_read_naming_the_line() {
        for (text, says) in [
            ("a: &x 1", "anchors"),
            ("a: *x", "aliases"),
            ("a: !!str 1", "tags"),
            ("a: [1, 2]", "flow collections"),
            ("a: {b: 1}", "flow collections"),
            ("a: 1\na: 2", "appears twice"),
            ("a: \"open", "multi-line quoted"),
            ("a:\n  b:\n    c: 1", "deeper than one level"),
            ("- a", "sequence item"),
            ("\ta: 1", "tab"),
            ("a: b: c", "inside a value"),
            ("just text", "expected `key: value`"),
            ("a: |2\n  x", "block scalar header"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
            assert!(e.starts_with("line "), "{text:?}: {e}");
        }
    }
}
