//! Starting many subscribers at a paced rate, over several source addresses.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cli::Transport;
use crate::subscriber::{self, Sub, Tally};
use crate::target::{Stream, Target};

/// Connections per source address when the count is chosen automatically: well
/// under the ~28k ports of the default ephemeral range.
const PER_SOURCE: usize = 20_000;

/// Source addresses 127.0.0.2, 127.0.0.3, ... (`count` 0 = automatic for `n`).
pub fn sources(n: usize, count: u8) -> Vec<IpAddr> {
    let k = if count == 0 {
        n.div_ceil(PER_SOURCE).clamp(1, 250)
    } else {
        count as usize
    };
    (0..k)
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i as u8)))
        .collect()
}

/// Pairs streams with source addresses, round robin.
pub fn subs(streams: Vec<Stream>, sources: &[IpAddr]) -> Vec<Sub> {
    streams
        .into_iter()
        .enumerate()
        .map(|(i, stream)| Sub {
            stream,
            source: sources.get(i % sources.len().max(1)).copied(),
        })
        .collect()
}

/// A running set of subscribers.
pub struct Fleet {
    pub tally: Arc<Tally>,
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// Starts every subscriber, `rate` new connections per second at most.
    /// Returns once all are started (not necessarily subscribed).
    pub async fn launch(
        target: Arc<Target>,
        subs: Vec<Sub>,
        transport: Transport,
        tally: Arc<Tally>,
        rate: u64,
    ) -> Fleet {
        let (stop, rx) = watch::channel(false);
        let rate = rate.max(1) as f64;
        let started = Instant::now();
        let mut handles = Vec::with_capacity(subs.len());
        for (i, sub) in subs.into_iter().enumerate() {
            let due = Duration::from_secs_f64(i as f64 / rate);
            let elapsed = started.elapsed();
            if due > elapsed {
                tokio::time::sleep(due - elapsed).await;
            }
            handles.push(tokio::spawn(subscriber::run(
                target.clone(),
                sub,
                transport,
                tally.clone(),
                rx.clone(),
            )));
        }
        Fleet {
            tally,
            stop,
            handles,
        }
    }

    /// Waits until every subscriber is subscribed or failed, or until `limit`.
    pub async fn settle(&self, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let t = &self.tally;
            let done = t.established.load(Relaxed) + t.failed.load(Relaxed);
            if done >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Tells every subscriber to stop and waits (bounded) for them to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let all = async {
            for h in self.handles {
                let _ = h.await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(30), all).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_count() {
        assert_eq!(sources(10, 0).len(), 1);
        assert_eq!(sources(50_000, 0).len(), 3);
        assert_eq!(sources(10, 4).len(), 4);
        assert_eq!(sources(1, 0)[0].to_string(), "127.0.0.2");
    }

    #[test]
    fn round_robin() {
        let s = subs(vec![Stream::Public; 5], &sources(5, 2));
        let ips: Vec<String> = s.iter().map(|x| x.source.unwrap().to_string()).collect();
        assert_eq!(
            ips,
            [
                "127.0.0.2",
                "127.0.0.3",
                "127.0.0.2",
                "127.0.0.3",
                "127.0.0.2"
            ]
        );
    }
}
