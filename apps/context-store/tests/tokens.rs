//! The token counter against tiktoken's `cl100k_base` (tiktoken-rs): the same count for the
//! same text, over fixed cases and seeded random text that mixes every class the encoding's
//! pre-split tells apart (letters, digits, punctuation, contractions, spaces, tabs, line
//! breaks, accents, combining marks, CJK, emoji).

use context_store::count_tokens;

fn reference(text: &str) -> i64 {
    tiktoken_rs::cl100k_base_singleton()
        .encode_ordinary(text)
        .len() as i64
        + 4
}

#[test]
fn known_counts() {
    // 4 for the chat framing around every message.
    assert_eq!(count_tokens(""), 4);
    assert_eq!(count_tokens("hello world"), 2 + 4);
    assert_eq!(
        count_tokens("message 12345 about the weather in Lisbon"),
        9 + 4
    );
}

#[test]
fn fixed_cases_match_tiktoken() {
    let cases = [
        "You plan trips.",
        "I'm sure they'll say it's 'fine', we've done it, you'd see, I'd've",
        "DON'T SHOUT, It'S oK",
        "   leading spaces and trailing   ",
        "tabs\tand\t\tmore\t",
        "lines\nand\r\nblank\n\n\nlines \n \n",
        "    indented code()\n        deeper {\n    }\n",
        "numbers 1 12 123 1234 12345 3.14159 1e10 0x1F",
        "punctuation!!! ??? ... --- ::: ;;; @@@ ### $$$ %%%",
        "émigré naïve café Ångström façade",
        "e\u{301}e\u{301} combining marks a\u{308}",
        "日本語のテキストと中文文本，还有한국어",
        "emoji 🙂🚀👩‍💻 and flags 🇵🇹",
        "non-breaking\u{a0}space and\u{2003}em space and zero\u{200b}width",
        "mixed123abc ABC123 a1b2c3",
        "{\"json\": [1, 2, {\"k\": null}], \"s\": \"x\\ny\"}",
        "\u{feff}byte order mark",
        " ",
        "\n",
        "a",
        "'s",
    ];
    for text in cases {
        assert_eq!(count_tokens(text), reference(text), "count of {text:?}");
    }
}

#[test]
fn random_text_matches_tiktoken() {
    const PIECES: &[&str] = &[
        "a",
        "Z",
        "the",
        "Weather",
        "LISBON",
        "é",
        "ß",
        "Ω",
        "ж",
        "日",
        "本",
        "한",
        "🙂",
        "👩‍💻",
        "\u{301}",
        "0",
        "7",
        "42",
        "2026",
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        "\n\n",
        "\u{a0}",
        ".",
        ",",
        "!",
        "?",
        "'",
        "'s",
        "'ll",
        "'RE",
        "\"",
        "(",
        ")",
        "{",
        "}",
        "-",
        "_",
        "/",
        "\\",
        "#",
        "$",
        "%",
        "&",
        "*",
        "+",
        "=",
        "<",
        ">",
        "|",
        "~",
        "`",
        "^",
        "@",
        ";",
        ":",
    ];
    // xorshift64*, seeded: the same text every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    for _ in 0..3_000 {
        let len = 1 + (next() % 80) as usize;
        let text: String = (0..len)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        assert_eq!(count_tokens(&text), reference(&text), "count of {text:?}");
    }
}
