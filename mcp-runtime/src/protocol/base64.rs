//! Standard base64 (RFC 4648, padded), as MCP uses for image, audio and blob data: the
//! `base64` crate's engines, behind the three functions the runtime calls.

use ::base64::DecodeError;
use ::base64::Engine as _;
use ::base64::engine::DecodePaddingMode;
use ::base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

/// Standard alphabet, padding optional and unused bits ignored: what peers send in practice.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &::base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Encodes bytes as padded standard base64.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes padded or unpadded standard base64; white space is not allowed.
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    LENIENT.decode(text).map_err(|e| explain(text, e))
}

/// Decodes standard base64 exactly as [`encode`] writes it: padded to a multiple of four
/// characters, and with the unused bits of the last character zero. Anything else is refused,
/// so that one byte string has one accepted text.
pub fn decode_strict(text: &str) -> Result<Vec<u8>, String> {
    STANDARD.decode(text).map_err(|e| explain(text, e))
}

/// What is wrong with `text`, in words that say how to fix it.
fn explain(text: &str, error: DecodeError) -> String {
    match error {
        DecodeError::InvalidByte(_, b) => format!("invalid base64 character {:?}", b as char),
        DecodeError::InvalidLength(_) => "invalid base64 length".into(),
        DecodeError::InvalidPadding => {
            "base64 text must be padded to a multiple of 4 characters".into()
        }
        DecodeError::InvalidLastSymbol { .. } => {
            format!("non-canonical base64: {text:?} ends with unused bits set")
        }
    }
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
