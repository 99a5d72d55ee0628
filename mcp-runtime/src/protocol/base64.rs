//! Standard base64 (RFC 4648, padded), as MCP uses for image, audio and blob data.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes bytes as padded standard base64.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63] as char);
        out.push(ALPHABET[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// Decodes padded or unpadded standard base64; white space is not allowed.
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    let trimmed = text.trim_end_matches('=');
    if text.len() - trimmed.len() > 2 || trimmed.len() % 4 == 1 {
        return Err("invalid base64 length".into());
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = value(c).ok_or_else(|| format!("invalid base64 character {:?}", c as char))?;
            n |= v << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    Ok(out)
}

/// Decodes standard base64 exactly as [`encode`] writes it: padded to a multiple of four
/// characters, and with the unused bits of the last character zero. Anything else is refused,
/// so that one byte string has one accepted text.
pub fn decode_strict(text: &str) -> Result<Vec<u8>, String> {
    let out = decode(text)?;
    if !text.len().is_multiple_of(4) {
        return Err("base64 text must be padded to a multiple of 4 characters".into());
    }
    let data = text.trim_end_matches('=');
    let last = data.as_bytes().last().copied();
    let unused_bits = match text.len() - data.len() {
        1 => 0b11,
        2 => 0b1111,
        _ => 0,
    };
    if let Some(c) = last
        && value(c).is_some_and(|v| v & unused_bits != 0)
    {
        return Err(format!(
            "non-canonical base64: {text:?} ends with unused bits set"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in cases {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&all)).unwrap(), all);
    }

    #[test]
    fn rejects_garbage() {
        assert!(decode("Zm9v!").is_err());
        assert!(decode("Z").is_err());
        assert!(decode("Zg===").is_err());
    }

    #[test]
    fn strict_decoding_takes_what_encode_writes_and_nothing_else() {
        for plain in ["", "f", "fo", "foo", "Hello", "Hello, 世界"] {
            assert_eq!(
                decode_strict(&encode(plain.as_bytes())).unwrap(),
                plain.as_bytes()
            );
        }
        // Padding missing, short or in excess.
        for text in ["SGVsbG8", "Zg=", "Zg", "Zm9vYg=", "Zm9v=", "Zg==="] {
            assert!(decode_strict(text).is_err(), "{text:?}");
        }
        // Characters outside the alphabet, padding in the middle.
        for text in ["SGVs!!!bG8=", "Zm9v Zg==", "Zg==Zg==", "Zm9-", "Zm9_"] {
            assert!(decode_strict(text).is_err(), "{text:?}");
        }
        // Unused bits set in the last character.
        assert!(decode_strict("Zh==").is_err());
        assert!(decode_strict("Zm9=").is_err());
        assert_eq!(decode_strict("Zm8=").unwrap(), b"fo");
    }
}
