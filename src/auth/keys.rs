//! API keys: how a shop's other systems (a point of sale, a web backend) act
//! without a staff member's password.
//!
//! A key is created by an admin, or by an owner for their own stores, with a name,
//! [`Scope`]s and the stores it may act for. It is shown once (`pck_` and 64 hex
//! digits) and only its SHA-256 is stored, like session tokens. A request carrying
//! it as `Authorization: Bearer` resolves to a [`Principal`](super::Principal) with
//! the [`KeyGrant`] attached, an owner's role and the creator's user id (so every
//! row that names an actor still names a real user), and a name that says which
//! key acted (`POS (key 3)`), which the ledger, audit trail and log carry.
//!
//! What a key may do is decided in two places that cannot drift apart:
//! - which routes at all: [`required_scope`], a default-deny table checked in the
//!   principal extractor for every request a key makes;
//! - which stores: [`KeyGrant::may_act_at`], consulted by `Db::is_staff_of`, the
//!   one check every staff route already goes through.
//!
//! Keys are never cached: a revoked key is refused on its very next request, on
//! every instance.

use std::fmt;

use rand::RngCore;

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Grant (and correct) mileage at its stores, and enrol members there.
    Grant,
    /// Place orders for a customer at its stores.
    Order,
    /// Announce to its stores' staff or to a member.
    Announce,
    /// Push `app.` events through the publish API.
    Publish,
    /// Read: GET routes and the event stream of its stores.
    Read,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Grant,
        Scope::Order,
        Scope::Announce,
        Scope::Publish,
        Scope::Read,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grant => "grant",
            Self::Order => "order",
            Self::Announce => "announce",
            Self::Publish => "publish",
            Self::Read => "read",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a key was granted, attached to the principal it resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyGrant {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The only stores the key may act for (whatever its creator may do).
    pub store_ids: Vec<i64>,
    /// An admin's key acts at its stores without its creator being their staff;
    /// an owner's key stops working at a store its creator no longer works at.
    pub created_by_admin: bool,
}

impl KeyGrant {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Whether the key may act for `store_id` (the creator's own standing is
    /// checked by the caller when the creator is an owner).
    pub fn may_act_at(&self, store_id: i64) -> bool {
        self.store_ids.contains(&store_id)
    }

    /// The name the ledger, audit trail and events show for what the key did.
    pub fn actor_name(&self) -> String {
        format!("{} (key {})", self.name, self.id)
    }
}

/// The prefix that tells a key from a session token.
pub const KEY_PREFIX: &str = "pck_";

/// A fresh key: `pck_` and 64 hex digits.
pub fn new_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// The scope a key needs for `method` on the route `pattern` (actix's match
/// pattern, `/api/v1/stores/{id}/members/{user_id}/mileage`); `None` when no key
/// may call it at all (key management, admin routes, sessions, anything new until
/// it is listed here).
pub fn required_scope(method: &str, pattern: &str) -> Option<Scope> {
    let route = pattern.strip_prefix("/api/v1").unwrap_or(pattern);
    match (method, route) {
        ("POST", "/stores/{id}/members/{user_id}/mileage")
        | ("PUT", "/stores/{id}/members/{user_id}") => Some(Scope::Grant),
        ("POST", "/orders") => Some(Scope::Order),
        ("POST", "/announcements") => Some(Scope::Announce),
        ("POST", "/publish") => Some(Scope::Publish),
        (_, r) if r.starts_with("/keys") || r.starts_with("/admin") || r.starts_with("/auth") => {
            None
        }
        ("GET" | "HEAD", _) => Some(Scope::Read),
        _ => None,
    }
}

/// Refuses a key's request to a route it has no scope for (403 `key_scope`), and
/// logs every request a key makes, so what a machine did is in the log under its
/// key. People pass untouched.
pub fn check_route(
    principal: &super::Principal,
    method: &str,
    pattern: Option<&str>,
) -> Result<(), crate::error::ApiError> {
    let Some(key) = &principal.key else {
        return Ok(());
    };
    let needed = pattern.and_then(|p| required_scope(method, p));
    let allowed = needed.is_some_and(|s| key.has(s));
    tracing::info!(
        key_id = key.id,
        key_name = %key.name,
        method,
        route = pattern.unwrap_or("?"),
        allowed,
        "api key request"
    );
    if allowed {
        Ok(())
    } else {
        Err(crate::error::ApiError::Refused {
            code: "key_scope",
            message: match needed {
                Some(s) => format!("this API key lacks the {s} scope"),
                None => "API keys may not call this route".into(),
            },
            details: Default::default(),
        })
    }
}

/// Parses a comma-separated scope list as stored.
pub fn parse_scopes(s: &str) -> Vec<Scope> {
    s.split(',').filter_map(Scope::parse).collect()
}

/// Joins scopes for storage.
pub fn join_scopes(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_recognisable() {
        let (a, b) = (new_key(), new_key());
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX));
        assert_eq!(a.len(), 68);
    }

    #[test]
    fn routes_need_their_scope_and_key_management_is_closed_to_keys() {
        let p = "/api/v1/stores/{id}/members/{user_id}/mileage";
        assert_eq!(required_scope("POST", p), Some(Scope::Grant));
        assert_eq!(required_scope("POST", "/api/v1/orders"), Some(Scope::Order));
        assert_eq!(
            required_scope("POST", "/api/v1/publish"),
            Some(Scope::Publish)
        );
        assert_eq!(
            required_scope("GET", "/api/v1/stores/{id}/stock"),
            Some(Scope::Read)
        );
        assert_eq!(required_scope("GET", "/api/v1/keys"), None);
        assert_eq!(required_scope("POST", "/api/v1/keys"), None);
        assert_eq!(required_scope("GET", "/api/v1/admin/connections"), None);
        assert_eq!(required_scope("POST", "/api/v1/stores"), None);
        assert_eq!(required_scope("PATCH", "/api/v1/stores/{id}"), None);
    }

    #[test]
    fn scopes_round_trip_through_storage() {
        let all = Scope::ALL.to_vec();
        assert_eq!(parse_scopes(&join_scopes(&all)), all);
        assert_eq!(parse_scopes(""), vec![]);
    }
}
