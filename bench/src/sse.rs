//! Incremental Server-Sent Events parser.
//!
//! Bytes arrive in arbitrary pieces (TCP segments, HTTP chunks), so the parser
//! keeps a partial line between calls. It follows the EventSource rules that
//! matter for measuring delivery: `data:` lines joined with `\n`, `id:` and
//! `event:` remembered for the event being built, a blank line dispatches, a line
//! starting with `:` is a comment (the heartbeat). Lines end in `\n` or `\r\n`.

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// Parser state carried between reads.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    current: SseEvent,
    has_field: bool,
    /// `data:` lines in the event being built (to join them with `\n`).
    data_lines: usize,
    /// Comment lines seen (heartbeats), for reporting.
    pub comments: u64,
    /// `retry:` hint last seen, in milliseconds.
    pub retry_ms: Option<u64>,
}

/// Longest line kept; a longer one is cut (we only need the stamp near the start).
const MAX_LINE: usize = 256 * 1024;

impl SseParser {
    /// Feeds bytes, calling `on_event` for every complete event.
    pub fn feed(&mut self, bytes: &[u8], mut on_event: impl FnMut(SseEvent)) {
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            if self.line.len() < MAX_LINE {
                self.line.extend_from_slice(&rest[..nl]);
            }
            rest = &rest[nl + 1..];
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if let Some(ev) = self.line_done(&line) {
                on_event(ev);
            }
            line.clear();
            self.line = line;
        }
        if self.line.len() + rest.len() <= MAX_LINE {
            self.line.extend_from_slice(rest);
        }
    }

    fn line_done(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            if !self.has_field {
                return None;
            }
            self.has_field = false;
            self.data_lines = 0;
            return Some(std::mem::take(&mut self.current));
        }
        if line[0] == b':' {
            self.comments += 1;
            return None;
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.data_lines > 0 {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.data_lines += 1;
                self.has_field = true;
            }
            "id" => {
                self.current.id = Some(value.to_string());
                self.has_field = true;
            }
            "event" => {
                self.current.event = Some(value.to_string());
                self.has_field = true;
            }
            "retry" => self.retry_ms = value.trim().parse().ok(),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> (Vec<SseEvent>, SseParser) {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, |e| out.push(e));
        }
        (out, p)
    }

    #[test]
    fn pointcast_stream_start() {
        let raw = b"retry: 3000\n\nid: 41\nevent: stream.open\ndata: {\"cursor\":41}\n\n: keep-alive\n\nid: 42\nevent: announcement\ndata: {\"id\":42}\n\n";
        let (evs, p) = parse_all(&[raw]);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].id.as_deref(), Some("41"));
        assert_eq!(evs[0].event.as_deref(), Some("stream.open"));
        assert_eq!(evs[1].data, "{\"id\":42}");
        assert_eq!(p.comments, 1);
        assert_eq!(p.retry_ms, Some(3000));
    }

    #[test]
    fn split_anywhere_and_crlf() {
        let raw: &[u8] = b"id: 7\r\ndata: a\r\ndata:b\r\n\r\n";
        for cut in 0..raw.len() {
            let (evs, _) = parse_all(&[&raw[..cut], &raw[cut..]]);
            assert_eq!(evs.len(), 1, "cut at {cut}");
            assert_eq!(evs[0].data, "a\nb");
            assert_eq!(evs[0].id.as_deref(), Some("7"));
        }
    }

    #[test]
    fn blank_lines_alone_dispatch_nothing() {
        let (evs, _) = parse_all(&[b"\n\n: hi\n\n"]);
        assert!(evs.is_empty());
    }

    #[test]
    fn fields_reset_between_events() {
        let (evs, _) = parse_all(&[b"event: x\ndata: 1\n\ndata: 2\n\n"]);
        assert_eq!(evs[1].event, None);
        assert_eq!(evs[1].data, "2");
    }
}
