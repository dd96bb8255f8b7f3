//! The AWS sandbox. Not built yet.
