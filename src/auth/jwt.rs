//! Tokens from the shop's own identity provider: optional, off unless configured.
//!
//! A reader may present a JWT (as `Authorization: Bearer`, the cookie or
//! `?access_token=`) signed by the shop's IdP with an HS256 secret, or RS256/ES256
//! public keys from a PEM file or a JWKS file. The `jsonwebtoken` crate checks the
//! signature, `exp` (always required; no leeway) and, when configured, `aud` and
//! `iss`. `sub` names a pointcast customer by member number or by the external id
//! stored on the user. The principal carries the token's `exp`, and the reader's
//! feed ends at that moment ([`crate::events::feed`]), so a stream outlives no token.

use std::fmt;
use std::path::Path;

use anyhow::Context;
pub use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;

/// How `sub` names a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// `sub` is the customer's member number.
    MemberNo,
    /// `sub` is the `external_id` stored on the user.
    ExternalId,
}

/// A configured verifier: its keys (with their `kid`, if any) and the checks.
pub struct JwtVerifier {
    keys: Vec<(Option<String>, DecodingKey, Algorithm)>,
    audience: Option<String>,
    issuer: Option<String>,
    pub subject: Subject,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("keys", &self.keys.len())
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .finish()
    }
}

/// The claims read from a token.
#[derive(Debug, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// Unix seconds.
    pub exp: i64,
}

/// Why a token was refused (all answer 401; the reason goes to the log only).
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("no configured key verifies this token: {0}")]
    Invalid(String),
}

impl JwtVerifier {
    /// HS256 with a shared secret.
    pub fn hs256(secret: &[u8], subject: Subject) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= 32,
            "an HS256 secret needs at least 32 bytes"
        );
        Ok(Self::with_keys(
            vec![(None, DecodingKey::from_secret(secret)?, Algorithm::HS256)],
            subject,
        ))
    }

    /// An RS256 or ES256 public key in a PEM file.
    pub fn pem_file(path: &Path, algorithm: Algorithm, subject: Subject) -> anyhow::Result<Self> {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let key = match algorithm {
            Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem)?,
            Algorithm::ES256 => DecodingKey::from_ec_pem(&pem)?,
            other => anyhow::bail!("PEM keys are RS256 or ES256, not {other:?}"),
        };
        Ok(Self::with_keys(vec![(None, key, algorithm)], subject))
    }

    /// The RS256 and ES256 keys of a JWKS file (the IdP's `jwks.json`).
    pub fn jwks_file(path: &Path, subject: Subject) -> anyhow::Result<Self> {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let set: JwkSet = serde_json::from_slice(&text).context("parsing the JWKS file")?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            use jsonwebtoken::jwk::KeyAlgorithm as K;
            let alg = match jwk.common.key_algorithm {
                Some(K::RS256) => Algorithm::RS256,
                Some(K::ES256) => Algorithm::ES256,
                _ => continue,
            };
            keys.push((jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk)?, alg));
        }
        anyhow::ensure!(
            !keys.is_empty(),
            "the JWKS file holds no RS256 or ES256 key"
        );
        Ok(Self::with_keys(keys, subject))
    }

    fn with_keys(keys: Vec<(Option<String>, DecodingKey, Algorithm)>, subject: Subject) -> Self {
        Self {
            keys,
            audience: None,
            issuer: None,
            subject,
        }
    }

    /// Requires this `aud`.
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audience = Some(aud.into());
        self
    }

    /// Requires this `iss`.
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.issuer = Some(iss.into());
        self
    }

    /// The token's claims if a configured key verifies it and its claims pass.
    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| JwtError::Invalid(e.to_string()))?;
        let mut last = String::from("no key for this token's kid or algorithm");
        for (kid, key, alg) in &self.keys {
            if *alg != header.alg || (header.kid.is_some() && kid.is_some() && *kid != header.kid) {
                continue;
            }
            let mut v = Validation::new(*alg);
            v.leeway = 0;
            v.set_required_spec_claims(&["exp", "sub"]);
            match &self.audience {
                Some(a) => v.set_audience(&[a]),
                None => v.validate_aud = false,
            }
            if let Some(i) = &self.issuer {
                v.set_issuer(&[i]);
            }
            match jsonwebtoken::decode::<Claims>(token, key, &v) {
                // RFC 7519: not accepted *on or after* `exp` (the crate accepts
                // the second of `exp` itself); the same moment the feed ends.
                Ok(data) if data.claims.exp * 1000 <= crate::time::now_millis() => {
                    last = "expired".into();
                }
                Ok(data) => return Ok(data.claims),
                Err(e) => last = e.to_string(),
            }
        }
        Err(JwtError::Invalid(last))
    }
}

/// The customer a verified token names, with the token's expiry; `None` (a 401)
/// for a token that does not verify or names nobody.
pub async fn principal(
    v: &JwtVerifier,
    db: &crate::db::Db,
    token: &str,
) -> anyhow::Result<Option<super::Principal>> {
    let claims = match v.verify(token) {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(error = %e, "jwt refused");
            return Ok(None);
        }
    };
    let Some(mut p) = db.principal_by_subject(v.subject, &claims.sub).await? else {
        tracing::info!(sub = %claims.sub, "jwt names no customer");
        return Ok(None);
    };
    p.expires_at = Some(claims.exp.saturating_mul(1000));
    Ok(Some(p))
}

/// Whether `token` has a JWT's shape (three base64url parts, a JSON header): only
/// those are tried as JWTs, so session tokens and API keys never are.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn token(claims: serde_json::Value, secret: &[u8]) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn signature_audience_issuer_and_expiry_are_checked() {
        let v = JwtVerifier::hs256(SECRET, Subject::MemberNo)
            .unwrap()
            .audience("pointcast")
            .issuer("shop-idp");
        let exp = crate::time::now_millis() / 1000 + 60;
        let good = json_claims("M1", exp, "pointcast", "shop-idp");
        assert_eq!(v.verify(&token(good.clone(), SECRET)).unwrap().sub, "M1");
        assert!(looks_like_jwt(&token(good.clone(), SECRET)));
        assert!(
            v.verify(&token(good, b"another-secret-another-secret-xx"))
                .is_err()
        );
        assert!(
            v.verify(&token(json_claims("M1", exp, "other", "shop-idp"), SECRET))
                .is_err()
        );
        assert!(
            v.verify(&token(json_claims("M1", exp, "pointcast", "evil"), SECRET))
                .is_err()
        );
        assert!(
            v.verify(&token(
                json_claims("M1", exp - 120, "pointcast", "shop-idp"),
                SECRET
            ))
            .is_err()
        );
        assert!(!looks_like_jwt("pc_abc"));
    }

    fn json_claims(sub: &str, exp: i64, aud: &str, iss: &str) -> serde_json::Value {
        serde_json::json!({"sub": sub, "exp": exp, "aud": aud, "iss": iss})
    }
}
