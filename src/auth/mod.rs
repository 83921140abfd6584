//! Who is calling: roles, opaque session tokens, argon2 passwords.
//!
//! A token is 32 random bytes shown to the client once; only its SHA-256 is stored,
//! so a leaked database does not leak sessions. Lookups go by that hash, which also
//! makes the comparison independent of how many leading characters match.

pub mod extract;
pub mod jwt;
pub mod keys;
pub mod password;
pub mod stream;
pub mod throttle;

use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use extract::{MaybePrincipal, token_from_request};

/// A user's role (DESIGN.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Owner,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Owner => "owner",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Self::Customer),
            "owner" => Some(Self::Owner),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// Owners and admins.
    pub fn is_staff(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller. Extracting it from a request answers 401 when the
/// request carries no valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub role: Role,
    pub name: String,
    /// The person's member number (customers) or login name (staff), for the
    /// operator's log ([`crate::oplog`]); empty when not known. Read with the
    /// session (or key, or token subject) so a logged action needs no read of
    /// its own.
    pub login: String,
    /// Set when the caller is an API key rather than a person: then `user_id` is
    /// the key's creator, `role` is `Owner` whatever the creator's role (a key acts
    /// only where [`keys::KeyGrant::may_act_at`] says) and `name` is the key's
    /// [`keys::KeyGrant::actor_name`]. See [`keys`].
    pub key: Option<std::sync::Arc<keys::KeyGrant>>,
    /// When the credential ends (unix millis), for a JWT from the shop's identity
    /// provider: a reader's feed ends then ([`jwt`]). `None` for sessions and keys.
    pub expires_at: Option<i64>,
}

impl Principal {
    /// A person signed in with a session.
    pub fn person(user_id: i64, role: Role, name: String) -> Self {
        Self {
            user_id,
            role,
            name,
            login: String::new(),
            key: None,
            expires_at: None,
        }
    }

    /// The same caller, with its member number or login for the log.
    pub fn with_login(mut self, login: String) -> Self {
        self.login = login;
        self
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The API key acting, if the caller is one.
    pub fn key_id(&self) -> Option<i64> {
        self.key.as_ref().map(|k| k.id)
    }
}

/// How long a login session lasts.
pub const SESSION_TTL_MILLIS: i64 = 30 * 24 * 3600 * 1000;

/// Name of the HttpOnly session cookie.
pub const SESSION_COOKIE: &str = "pointcast_session";

/// A fresh opaque token: `pc_` and 64 hex digits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("pc_{}", hex::encode(bytes))
}

/// What starts a stream ticket (`POST /api/v1/events/ticket`): a ticket is told
/// from a session token by its prefix.
pub const TICKET_PREFIX: &str = "pt_";

/// How long a stream ticket may wait to be used (once).
pub const TICKET_TTL_MILLIS: i64 = 60 * 1000;

/// A fresh stream ticket: `pt_` and 64 hex digits.
pub fn new_ticket() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TICKET_PREFIX}{}", hex::encode(bytes))
}

/// Whether a credential is a stream ticket rather than a session token.
pub fn is_ticket(credential: &str) -> bool {
    credential.starts_with(TICKET_PREFIX)
}

/// The session a caller's credential belongs to: what a stream remembers so that
/// it ends when that session does (logout, password change, expiry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRef {
    /// The session token's SHA-256 (hex), as `sessions.token_hash` stores it.
    pub hash: String,
    /// When the session expires, Unix millis.
    pub expires_at: i64,
}

/// The stored form of a token.
///
/// Every authenticated request hashes its token. `hex::encode` builds its text a
/// `char` at a time through an iterator (about 2,300 instructions by callgrind,
/// two thirds of what the hash itself counted there); encoding into a fixed
/// buffer gives the same text for about 1,000, its copy into a `String`
/// included.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut text = [0u8; 64];
    match hex::encode_to_slice(digest, &mut text) {
        // Hex digits are ASCII, so the bytes are always text.
        Ok(()) => String::from_utf8_lossy(&text).into_owned(),
        // Only a buffer of the wrong length fails: 32 bytes fill 64 digits.
        Err(_) => hex::encode(digest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 67);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "SHA-256 in lowercase hex, as stored rows already hold it"
        );
    }

    #[test]
    fn roles_round_trip() {
        for r in [Role::Customer, Role::Owner, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
