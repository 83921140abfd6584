//! Cross-origin access (CORS), closed unless configured.
//!
//! Only origins listed exactly (`--cors-origin`, `POINTCAST_CORS_ORIGINS`) are let
//! in: their `Origin` is echoed with credentials allowed, and a preflight is told
//! the methods and request headers the API uses. Any other origin, and every origin
//! when the list is empty (the default), gets no `Access-Control-*` header at all, so
//! a browser keeps other sites' scripts out. No wildcard: a session cookie must
//! never be usable from an arbitrary page.
//!
//! Free of HTTP types: both the actix middleware (`startup.rs`) and the lean stream
//! path (`events/edge.rs`) ask the same [`Cors`] and write what it returns.

/// Methods a preflight is told the API accepts.
pub const ALLOW_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";
/// Request headers a preflight is told the API reads.
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, Idempotency-Key, Last-Event-ID";
/// Response headers a cross-origin script may read besides the simple ones.
pub const EXPOSE_HEADERS: &str = "Retry-After, ETag";
/// How long a browser may cache a preflight answer, in seconds.
pub const MAX_AGE_SECS: u32 = 600;

/// An origin setting that cannot be an origin.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("CORS origin {0:?} must be scheme://host[:port] (http or https, no path, no wildcard)")]
pub struct BadOrigin(pub String);

/// The exact origins allowed to call the API from a browser.
#[derive(Clone, Debug, Default)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// Checks every configured origin; a trailing `/` is dropped (`Origin` headers
    /// never carry one).
    pub fn new<S: AsRef<str>>(origins: &[S]) -> Result<Self, BadOrigin> {
        let mut list = Vec::with_capacity(origins.len());
        for o in origins {
            let o = o.as_ref().trim();
            if o.is_empty() {
                continue;
            }
            let o = o.strip_suffix('/').unwrap_or(o);
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"))
                .ok_or_else(|| BadOrigin(o.to_string()))?;
            let valid = !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
            if !valid {
                return Err(BadOrigin(o.to_string()));
            }
            list.push(o.to_string());
        }
        Ok(Self { origins: list })
    }

    /// True when no origin is allowed (the default).
    pub fn is_closed(&self) -> bool {
        self.origins.is_empty()
    }

    /// The request's `Origin` if it is listed, byte for byte.
    pub fn allowed<'a>(&self, origin: Option<&'a [u8]>) -> Option<&'a str> {
        let origin = origin?;
        self.origins
            .iter()
            .any(|o| o.as_bytes() == origin)
            .then(|| std::str::from_utf8(origin).ok())
            .flatten()
    }

    /// Headers for an ordinary response to an allowed origin.
    pub fn headers(origin: &str) -> [(&'static str, String); 4] {
        [
            ("access-control-allow-origin", origin.to_string()),
            ("access-control-allow-credentials", "true".into()),
            ("access-control-expose-headers", EXPOSE_HEADERS.into()),
            ("vary", "Origin".into()),
        ]
    }

    /// Headers for the answer to a preflight from an allowed origin.
    pub fn preflight_headers(origin: &str) -> [(&'static str, String); 5] {
        [
            ("access-control-allow-origin", origin.to_string()),
            ("access-control-allow-credentials", "true".into()),
            ("access-control-allow-methods", ALLOW_METHODS.into()),
            ("access-control-allow-headers", ALLOW_HEADERS.into()),
            ("access-control-max-age", MAX_AGE_SECS.to_string()),
        ]
    }

    /// [`Cors::headers`] as raw `name: value\r\n` lines for a hand-written
    /// response head; empty for `None`.
    pub fn head_lines(origin: Option<&str>) -> String {
        let Some(origin) = origin else {
            return String::new();
        };
        Self::headers(origin)
            .iter()
            .map(|(n, v)| format!("{n}: {v}\r\n"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_origins_are_allowed_exactly() {
        let cors = Cors::new(&["https://shop.example/", "http://localhost:3000"]).unwrap();
        assert_eq!(
            cors.allowed(Some(b"https://shop.example")),
            Some("https://shop.example")
        );
        assert_eq!(
            cors.allowed(Some(b"http://localhost:3000")),
            Some("http://localhost:3000")
        );
        for other in [
            &b"https://shop.example.evil"[..],
            b"http://shop.example",
            b"https://SHOP.example",
            b"null",
            b"",
        ] {
            assert_eq!(cors.allowed(Some(other)), None, "{other:?}");
        }
        assert_eq!(cors.allowed(None), None);
    }

    #[test]
    fn the_default_allows_nobody() {
        let cors = Cors::new::<&str>(&[]).unwrap();
        assert!(cors.is_closed());
        assert_eq!(cors.allowed(Some(b"https://shop.example")), None);
        assert_eq!(Cors::head_lines(None), "");
    }

    #[test]
    fn wildcards_paths_and_other_schemes_are_refused() {
        for bad in [
            "*",
            "https://*.example",
            "https://shop.example/app",
            "ftp://x",
            "https://",
            "shop.example",
        ] {
            assert!(Cors::new(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn head_lines_echo_the_origin_with_vary() {
        let lines = Cors::head_lines(Some("https://a.example"));
        assert!(lines.contains("access-control-allow-origin: https://a.example\r\n"));
        assert!(lines.contains("access-control-allow-credentials: true\r\n"));
        assert!(lines.contains("vary: Origin\r\n"));
    }
}
