//! Signed JWTs the client makes: DPoP proofs (RFC 9449) with a P-256 key made for the
//! connection, and client assertions (`private_key_jwt`, RFC 7523) with the client's key.
//! Signing is jsonwebtoken's, on ring; the key is ring's.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{OAuthError, now, random};

/// A DPoP key: ES256.
pub(crate) struct Key {
    encoding: EncodingKey,
    jwk: Jwk,
}

impl Key {
    pub(crate) fn generate() -> Result<Key, OAuthError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| OAuthError::Token("a DPoP key could not be made".into()))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| OAuthError::Token("a DPoP key could not be read".into()))?;
        // The public key is the uncompressed point: 0x04, x, y.
        let public = pair.public_key().as_ref();
        let (x, y) = (&public[1..33], &public[33..65]);
        let jwk = Jwk {
            common: CommonParameters::default(),
            algorithm: AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x: URL_SAFE_NO_PAD.encode(x),
                y: URL_SAFE_NO_PAD.encode(y),
            }),
        };
        Ok(Key {
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
        })
    }

    /// A proof for one request: `htm`, `htu` (without query and fragment), and for a
    /// resource request `ath`, the token's hash; the server's nonce when it gave one.
    pub(crate) fn proof(
        &self,
        method: &str,
        url: &Url,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, OAuthError> {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let mut claims = json!({
            "jti": random(16),
            "htm": method,
            "htu": htu.as_str(),
            "iat": now(),
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| OAuthError::Token(format!("a DPoP proof could not be signed: {e}")))
    }
}

/// A client assertion (RFC 7523 §2.2) for the token endpoint of `issuer`.
pub(crate) fn client_assertion(
    client_id: &str,
    issuer: &str,
    pem: &str,
    algorithm: &str,
    key_id: Option<&str>,
) -> Result<String, OAuthError> {
    let alg: Algorithm = algorithm.parse().map_err(|_| {
        OAuthError::Registration(format!(
            "`{}` is not a JWS algorithm jsonwebtoken signs with (ES256, RS256, …)",
            algorithm.escape_debug()
        ))
    })?;
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| {
        OAuthError::Registration(format!(
            "the client's private key is not a PEM private key: {e}"
        ))
    })?;
    let key = match (alg, &der) {
        (Algorithm::ES256 | Algorithm::ES384, PrivateKeyDer::Pkcs8(k)) => {
            EncodingKey::from_ec_der(k.secret_pkcs8_der())
        }
        (Algorithm::EdDSA, PrivateKeyDer::Pkcs8(k)) => {
            EncodingKey::from_ed_der(k.secret_pkcs8_der())
        }
        (
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
            PrivateKeyDer::Pkcs1(k),
        ) => EncodingKey::from_rsa_der(k.secret_pkcs1_der()),
        _ => {
            return Err(OAuthError::Registration(format!(
                "a {algorithm} client key must be PEM `PRIVATE KEY` (PKCS#8) for EC and Ed25519 keys, `RSA PRIVATE KEY` (PKCS#1) for RSA keys"
            )));
        }
    };
    let issued = now();
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": issuer,
        "iat": issued,
        "exp": issued + 300,
        "jti": random(16),
    });
    let mut header = Header::new(alg);
    header.kid = key_id.map(str::to_string);
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| {
        OAuthError::Registration(format!("the client assertion could not be signed: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn a_dpop_proof_verifies_with_its_own_key_and_binds_the_request() {
        let key = Key::generate().unwrap();
        let url = Url::parse("https://rs.example/mcp?x=1#f").unwrap();
        let proof = key.proof("POST", &url, Some("tok"), Some("n-1")).unwrap();
        let header = jsonwebtoken::decode_header(&proof).unwrap();
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        let jwk = header.jwk.expect("the proof carries its public key");
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        let mut v = Validation::new(Algorithm::ES256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(&proof, &decoding, &v)
            .unwrap()
            .claims;
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], "https://rs.example/mcp");
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(
            claims["ath"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(b"tok"))
        );
        // Two proofs never share a jti.
        let again = key.proof("POST", &url, None, None).unwrap();
        assert_ne!(proof, again);
    }
}
