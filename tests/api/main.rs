//! The HTTP contract, driven as a client would: one test binary, one module per area.

mod helpers;

mod auth;
mod loyalty;
mod push;
mod stores;
