//! Persistence (SQLite, PostgreSQL). Built with the identity provider issue.
