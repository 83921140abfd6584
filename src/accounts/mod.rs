//! Accounts: customers who sign up, staff an admin creates, their profiles and
//! their login sessions.
//!
//! - [`rules`]: what a name, phone, password or staff login may be. Pure.
//! - [`signup`]: a customer signs up; an admin creates staff.
//! - [`profile`]: seeing and changing an account, sharing a location, "who am I".
//! - [`sessions`]: logging in (throttled) and out.
//! - [`recovery`]: the operator's `admin reset-password`.
//!
//! The rows live in [`crate::db::users`]. Passwords are hashed off the async
//! threads ([`crate::auth::password`]). Free of HTTP: routes map [`AccountError`].

pub mod api_keys;
pub mod profile;
pub mod recovery;
pub mod rules;
pub mod sessions;
pub mod signup;

use thiserror::Error;

pub use profile::{LatLon, Profile, ProfileChange, UserWithStores};
pub use rules::{Login, Name, Password, Phone};
pub use sessions::LoggedIn;
pub use signup::NewStaff;

/// Why an account flow refused, or failed.
#[derive(Debug, Error)]
pub enum AccountError {
    #[error("name must be 1 to 100 characters")]
    Name,
    #[error("phone must be 4 to 20 digits, optionally with +, - or spaces")]
    Phone,
    #[error("password must be 8 to 128 characters")]
    Password,
    #[error("login must be 3 to 32 letters, digits, '.', '_' or '-', starting with a letter")]
    Login,
    /// A profile change that names nothing to change.
    #[error("name at least one of name, phone, password")]
    EmptyPatch,
    /// Staff are owners or admins, never customers.
    #[error("role must be owner or admin")]
    StaffRole,
    #[error("store_ids must list at most {MAX_STAFF_STORES} stores")]
    TooManyStores,
    #[error("store {0} does not exist")]
    NoSuchStore(i64),
    #[error("that login is taken")]
    LoginTaken,
    #[error("lat must be within -90..90 and lon within -180..180")]
    Location,
    /// The user named does not exist.
    #[error("user")]
    NotFound,
    /// The caller's own account is gone while its session was still valid.
    #[error("user no longer exists")]
    Gone,
    /// Unknown login or wrong password: the two are not told apart.
    #[error("wrong login or password")]
    WrongCredentials,
    /// Too many failed logins for this account or address; try again in this many
    /// seconds.
    #[error("too many failed logins; try again later")]
    Throttled(u64),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Most stores one staff member is created for.
pub const MAX_STAFF_STORES: usize = 100;
