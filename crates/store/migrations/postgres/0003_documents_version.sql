-- Purges of short-lived records (version = the instant they stop mattering) find them by version.
CREATE INDEX IF NOT EXISTS documents_version ON documents (version);
