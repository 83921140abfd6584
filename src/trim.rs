//! Gives the heap's free pages back to the system, every [`PERIOD`].
//!
//! Why: glibc's malloc keeps what a burst freed. A request served by actix holds
//! an 8 KB read and an 8 KB write buffer while it runs; after a burst of page
//! loads (or of clients that send a request before they open their stream) those
//! buffers are free, but their pages stay resident, interleaved with the small,
//! long-lived parts of the idle streams that followed, so the process stays at
//! the burst's high-water mark. Measured (docs/performance.md): 1,000 streams
//! opened at once, each after a `GET /healthz` on its connection, took 9 KB of
//! RSS each for about 2 KB of live heap. `malloc_trim(0)` hands every free page
//! of every arena back (`MADV_DONTNEED`), so RSS follows what is live.
//!
//! It runs on tokio's blocking pool (it takes each arena's lock in turn while it
//! walks it: milliseconds for a heap of tens of megabytes). With another
//! allocator than glibc's there is nothing to do.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// How often free pages are given back.
pub const PERIOD: Duration = Duration::from_secs(2);

/// Trims every [`PERIOD`] until `shutdown`.
pub async fn run(shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let started = Instant::now();
        let released = tokio::task::spawn_blocking(trim).await.unwrap_or(false);
        tracing::debug!(
            released,
            us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "heap trimmed"
        );
    }
}

/// Returns the free pages of every arena to the system; whether any were.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() -> bool {
    // SAFETY: `malloc_trim` takes no pointers and only releases memory that
    // malloc itself holds free; it is safe to call from any thread at any time.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}

#[cfg(test)]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Resident set size of this process, in kB.
    fn rss_kb() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn freed_buffers_leave_the_resident_set() {
        // Buffers of actix's size, freed with small long-lived objects between
        // them (as idle streams sit between freed request buffers).
        let mut keep = Vec::new();
        let mut freed = Vec::new();
        for _ in 0..4_000 {
            freed.push(vec![1u8; 16 * 1024]);
            keep.push(Box::new([2u8; 64]));
        }
        drop(freed);
        let before = rss_kb();
        trim();
        let after = rss_kb();
        assert!(
            before - after > 32 * 1024,
            "trimming gave back only {} kB of ~64 MB freed",
            before - after
        );
        assert_eq!(keep.len(), 4_000);
    }
}
