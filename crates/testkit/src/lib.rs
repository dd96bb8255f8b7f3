//! Boots the IdP and the sandbox in-process for tests. Not built yet.
