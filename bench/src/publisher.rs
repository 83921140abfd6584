//! Publishing over kept-alive connections, one request in flight per connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::timeout;

use crate::error::{Error, Result};
use crate::http::Conn;
use crate::target::Target;

/// Bound on one publish round trip.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(15);

/// A publisher connection (opened lazily, re-opened after an error).
pub struct Publisher {
    target: Arc<Target>,
    conn: Option<Conn>,
}

impl Publisher {
    pub fn new(target: Arc<Target>) -> Self {
        Publisher { target, conn: None }
    }

    /// Sends one prepared request; `Ok` only for a 2xx answer.
    pub async fn send(&mut self, req: &[u8]) -> Result<()> {
        let r = timeout(PUBLISH_TIMEOUT, self.roundtrip(req)).await;
        match r {
            Ok(Ok(status)) if (200..300).contains(&status) => Ok(()),
            Ok(Ok(status)) => Err(Error(format!("publish answered {status}"))),
            Ok(Err(e)) => {
                self.conn = None;
                Err(e)
            }
            Err(e) => {
                self.conn = None;
                Err(e.into())
            }
        }
    }

    async fn roundtrip(&mut self, req: &[u8]) -> Result<u16> {
        let mut conn = match self.conn.take() {
            Some(c) if c.reusable => c,
            _ => Conn::connect(&self.target.ep, None).await?,
        };
        let resp = conn.roundtrip(req).await?;
        self.conn = Some(conn);
        Ok(resp.head.status)
    }
}
