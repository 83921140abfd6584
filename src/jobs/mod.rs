//! Scheduled background jobs (DESIGN.md §3): a sales roll-up and optimal stock with
//! low-stock alerts, on schedules admins change at run time.
//!
//! - [`schedule`]: parsing `daily HH:MM` and cron expressions, next fire times.
//! - [`clock`]: the scheduler's time, movable by tests.
//! - [`scheduler`]: claiming due jobs (never two runs at once, even across
//!   instances), recording runs, catching up a missed run once.
//! - [`tasks`]: which body each job runs, and its summary.
//! - [`sales_rollup`]: `roll_up_sales`, the `sales-rollup` job's body.
//! - [`optimal_stock`]: `compute_optimal_stock`, the `optimal-stock` job's body
//!   (the formula and the `stock.low` alerts).
//! - `mileage-expiry`: [`crate::mileage::expiry::run`] (expired points and coupons).
//! - [`events`]: the payload of `job.completed`.

pub mod clock;
pub mod events;
pub mod optimal_stock;
pub mod sales_rollup;
pub mod schedule;
pub mod scheduler;
pub mod tasks;

use thiserror::Error;

/// The jobs the server knows, with their default schedules.
pub const JOBS: &[(&str, &str, &str)] = &[
    (
        "sales-rollup",
        "daily 00:10",
        "Daily sales volume per store and product.",
    ),
    (
        "optimal-stock",
        "daily 06:00",
        "Optimal stock per store and product from recent sales; stock.low alerts.",
    ),
    (
        "mileage-expiry",
        "daily 00:30",
        "Expires earned points and coupons past their validity; mileage.expiring warnings.",
    ),
];

#[derive(Debug, Error)]
pub enum JobError {
    #[error("job")]
    Unknown,
    #[error(transparent)]
    Schedule(#[from] schedule::ScheduleError),
    #[error("the job is running now; try again when it has finished")]
    Running,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}
