-- The IdP's system log: append-only, queried by actor, app, event and time.
CREATE TABLE IF NOT EXISTS events (
    seq     BIGSERIAL PRIMARY KEY,
    at      BIGINT NOT NULL,           -- unix milliseconds
    actor   TEXT   NOT NULL,
    event   TEXT   NOT NULL,
    target  TEXT   NOT NULL DEFAULT '',
    app     TEXT   NOT NULL DEFAULT '',
    outcome TEXT   NOT NULL,
    detail  TEXT   NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE INDEX IF NOT EXISTS events_actor ON events (lower(actor), at);
CREATE INDEX IF NOT EXISTS events_app ON events (app, at);
