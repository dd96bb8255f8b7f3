-- Versioned JSON documents (the AWS sandbox's state, the IdP's tenant, sessions).
CREATE TABLE IF NOT EXISTS documents (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    body TEXT NOT NULL
);
