-- The IdP's system log: append-only, queried by actor, app, event and time.
CREATE TABLE IF NOT EXISTS events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,          -- unix milliseconds
    actor   TEXT    NOT NULL,          -- who acted (a login, "system", "cli")
    event   TEXT    NOT NULL,          -- dotted name, e.g. user.session.start
    target  TEXT    NOT NULL DEFAULT '',
    app     TEXT    NOT NULL DEFAULT '',
    outcome TEXT    NOT NULL,          -- success | failure
    detail  TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE INDEX IF NOT EXISTS events_actor ON events (lower(actor), at);
CREATE INDEX IF NOT EXISTS events_app ON events (app, at);
