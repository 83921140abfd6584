-- Customer center: 1:1 conversations and their messages, inquiries, and the durable
-- outbox their mail leaves from (written in the same transaction as the inquiry).

CREATE TABLE support_conversations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    store_id        INTEGER REFERENCES stores (id) ON DELETE SET NULL,  -- NULL: for the admins
    status          TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at      BIGINT  NOT NULL,
    last_message_at BIGINT  NOT NULL,
    closed_at       BIGINT,
    closed_by       INTEGER REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX support_conversations_customer ON support_conversations (customer_id, id);
CREATE INDEX support_conversations_store ON support_conversations (store_id, id);

CREATE TABLE support_messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES support_conversations (id) ON DELETE CASCADE,
    sender_id       INTEGER NOT NULL,
    sender_name     TEXT    NOT NULL,   -- as it was when sent
    sender_role     TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX support_messages_conversation ON support_messages (conversation_id, id);

CREATE TABLE inquiries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,  -- NULL: sent without a token
    subject    TEXT    NOT NULL,
    message    TEXT    NOT NULL,
    reply_to   TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    inquiry_id      INTEGER REFERENCES inquiries (id) ON DELETE SET NULL,
    to_addr         TEXT    NOT NULL,
    reply_to        TEXT,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    last_error      TEXT,
    sent_at         BIGINT              -- NULL until the SMTP server accepted it
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX mail_outbox_inquiry ON mail_outbox (inquiry_id);
