//! What the load generator reads about the server process and sets for itself.
//!
//! Memory per connection and CPU per delivery are taken from the kernel's view of
//! the server (`/proc/<pid>/status`, `/proc/<pid>/stat`), so they hold for any
//! server, whatever it reports about itself.

use crate::error::{Error, Result};

/// Resident set size of `pid` in kilobytes (`VmRSS`).
pub fn rss_kb(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_vmrss(&status).ok_or_else(|| Error(format!("no VmRSS for pid {pid}")))
}

fn parse_vmrss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// User plus system CPU time of `pid`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat_cpu(&stat).ok_or_else(|| Error(format!("bad /proc/{pid}/stat")))
}

/// utime and stime are fields 14 and 15; the command name (field 2) may hold
/// spaces and parentheses, so count from the last `)`.
fn parse_stat_cpu(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut f = after.split_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second for [`cpu_ticks`].
pub fn ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as u64 } else { 100 }
}

/// Sum over several pids (nginx: master and worker), skipping unreadable ones.
pub fn sum(pids: &[u32], f: fn(u32) -> Result<u64>) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    let mut total = 0;
    for &p in pids {
        total += f(p).ok()?;
    }
    Some(total)
}

/// Raises this process's open-file limit as far as allowed: each connection is a
/// descriptor, and the usual soft limit (1024) would cap a run early. Returns the
/// soft limit in force afterwards.
pub fn raise_nofile(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur >= want {
            return lim.rlim_cur;
        }
        // Root may lift the hard limit too; otherwise go up to the hard limit.
        let up = libc::rlimit {
            rlim_cur: want,
            rlim_max: want.max(lim.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &up) == 0 {
            return want;
        }
        let soft = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &soft) == 0 {
            return lim.rlim_max;
        }
        lim.rlim_cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmrss() {
        let s = "Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t   2048 kB\n";
        assert_eq!(parse_vmrss(s), Some(2048));
        assert_eq!(parse_vmrss("Name: x\n"), None);
    }

    #[test]
    fn stat_with_odd_name() {
        let s = "123 (a b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        assert_eq!(parse_stat_cpu(s), Some(300));
    }

    #[test]
    fn own_process_readable() {
        let me = std::process::id();
        assert!(rss_kb(me).unwrap() > 0);
        assert!(cpu_ticks(me).is_ok());
        assert!(ticks_per_sec() > 0);
    }
}
