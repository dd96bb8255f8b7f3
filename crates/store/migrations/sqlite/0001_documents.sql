-- Versioned JSON documents: the AWS sandbox keeps its whole state as one.
CREATE TABLE IF NOT EXISTS documents (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body TEXT NOT NULL
);
