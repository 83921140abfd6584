-- Jobs, their run history, and what the jobs compute.

CREATE TABLE jobs (
    name          TEXT   PRIMARY KEY,
    schedule      TEXT   NOT NULL,      -- `daily HH:MM` or `cron ...`
    time_zone     TEXT   NOT NULL DEFAULT 'UTC',
    next_run_at   BIGINT,
    last_run_at   BIGINT,
    running_until BIGINT                 -- lease held by a run in progress
);

CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job         TEXT    NOT NULL REFERENCES jobs (name),
    trigger_kind TEXT   NOT NULL,        -- schedule, catch-up, manual
    started_at  BIGINT  NOT NULL,
    finished_at BIGINT,
    outcome     TEXT,                    -- ok, error
    summary     TEXT                     -- JSON
);
CREATE INDEX job_runs_job ON job_runs (job, id);

CREATE TABLE sales_daily (
    store_id   INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    day        TEXT    NOT NULL,
    units      BIGINT  NOT NULL,
    revenue    BIGINT  NOT NULL,
    PRIMARY KEY (store_id, product_id, day)
);

-- Per-store settings of the optimal-stock formula (defaults when absent: 14, 3, 2).
CREATE TABLE stock_policies (
    store_id       INTEGER PRIMARY KEY REFERENCES stores (id) ON DELETE CASCADE,
    window_days    BIGINT NOT NULL CHECK (window_days > 0),
    lead_time_days BIGINT NOT NULL CHECK (lead_time_days >= 0),
    safety_days    BIGINT NOT NULL CHECK (safety_days >= 0)
);

CREATE TABLE optimal_stock (
    store_id    INTEGER NOT NULL,
    product_id  INTEGER NOT NULL,
    optimum     BIGINT  NOT NULL,
    units_sold  BIGINT  NOT NULL,
    window_days BIGINT  NOT NULL,
    computed_at BIGINT  NOT NULL,
    PRIMARY KEY (store_id, product_id)
);
