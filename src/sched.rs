//! Which Linux scheduling policy the server's threads run under.
//!
//! A request's work crosses threads: actix's worker hands a write to the
//! writer's task on tokio's worker, which hands the connection back, and the
//! WAL syncer and the tailer wake the worker again. Under the default policy
//! (`SCHED_OTHER`) each of those wakes, on a busy core, switches to the woken
//! thread at once (wake-up preemption), so the thread that woke it stops in the
//! middle of its run of requests. Under `SCHED_BATCH` a woken thread does not
//! preempt the running one: it runs when that one waits (in `epoll_wait`, on a
//! channel), so each thread drains what is ready before the core changes hands,
//! and batches of commits and syncs grow by themselves. Measured on one core
//! (docs/performance.md, round two, eighteenth part): CPU per announcement at
//! 5,000/s 126-135 -> 94-97 µs, p99 3.2-6.3 -> 2.9-3.1 ms.
//!
//! The policy is set on the main thread before the runtime starts, and every
//! thread inherits it from the thread that creates it. `SCHED_BATCH` needs no
//! privilege and keeps the nice value and the fair share: only the wake-up
//! preemption goes (also against other processes on the same core, so a
//! server sharing its cores with latency-sensitive work may want `normal`).

/// The policy `pointcast serve --scheduler` asks for.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheduler {
    /// `SCHED_BATCH`: woken threads wait for the running one (the default).
    Batch,
    /// The system's default policy, as the process was started.
    Normal,
}

/// Puts the calling thread, and so every thread it creates from now on, under
/// `policy`. Call it before any other thread starts. Elsewhere than Linux only
/// `Normal` exists, and `Batch` is refused; `main` then warns and runs on.
pub fn apply(policy: Scheduler) -> std::io::Result<()> {
    match policy {
        Scheduler::Normal => Ok(()),
        Scheduler::Batch => batch(),
    }
}

#[cfg(target_os = "linux")]
fn batch() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `sched_setscheduler` reads the one `sched_param` given, which
    // lives across the call; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn batch() -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "SCHED_BATCH exists only on Linux",
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn policy() -> i32 {
        // SAFETY: no arguments but the pid (0: the calling thread).
        unsafe { libc::sched_getscheduler(0) }
    }

    /// The thread that applies it runs under `SCHED_BATCH`, and so do the
    /// threads it starts afterwards; `Normal` changes nothing.
    #[test]
    fn batch_holds_for_the_thread_and_the_threads_it_starts() {
        std::thread::spawn(|| {
            let before = policy();
            apply(Scheduler::Normal).unwrap();
            assert_eq!(policy(), before);
            apply(Scheduler::Batch).unwrap();
            assert_eq!(policy(), libc::SCHED_BATCH);
            let child = std::thread::spawn(policy).join().unwrap();
            assert_eq!(child, libc::SCHED_BATCH);
        })
        .join()
        .unwrap();
        // Other threads are untouched.
        assert_ne!(policy(), libc::SCHED_BATCH);
    }
}
