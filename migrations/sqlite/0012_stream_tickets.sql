-- Stream tickets: short-lived, single-use stand-ins for a session token in an
-- event URL (`POST /api/v1/events/ticket`, then `?ticket=` on SSE or long-poll),
-- so that a session token never has to appear in a URL (and so in a proxy's log).
-- Stored, not kept in memory, so a ticket made on one instance opens a stream on
-- another. Only the ticket's SHA-256 is stored; it names the session it stands
-- for, which must still be valid when the ticket is used.

CREATE TABLE stream_tickets (
    ticket_hash  TEXT    PRIMARY KEY,
    session_hash TEXT    NOT NULL REFERENCES sessions (token_hash) ON DELETE CASCADE,
    expires_at   BIGINT  NOT NULL
);
CREATE INDEX stream_tickets_expiry ON stream_tickets (expires_at);
