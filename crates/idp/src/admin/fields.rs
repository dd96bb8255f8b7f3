//! A submitted form, keeping repeated names (checkbox lists, table rows) in order.

use std::collections::HashMap;

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};

pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
    }

    /// Every value of `name`, in order (untrimmed, empties kept: rows line up by position).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The first value of `name` exactly as typed (passwords: spaces are part of them).
    pub fn raw(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// A checkbox: present and not "off".
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v != "off" && v != "false")
    }

    pub fn first_values(&self) -> HashMap<String, String> {
        let mut map = HashMap::new();
        for (k, v) in &self.0 {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
        map
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<Vec<(String, String)>>::from_request(request, state).await {
            Ok(axum::Form(pairs)) => Ok(Fields(pairs)),
            Err(rejection) => Err(crate::web::message(
                rejection.status(),
                "Cannot read the form",
                "The form could not be read. Reload the page and try again.",
            )
            .into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_keep_their_order_and_checkboxes_read_as_present() {
        let fields = Fields(vec![
            ("role".into(), "a".into()),
            ("name".into(), "  x ".into()),
            ("role".into(), "b".into()),
            ("on".into(), "on".into()),
        ]);
        assert_eq!(fields.all("role"), ["a", "b"]);
        assert_eq!(fields.get("name"), "x");
        assert_eq!(fields.get("missing"), "");
        assert_eq!(fields.raw("name"), "  x ");
        assert!(fields.checked("on"));
        assert!(!fields.checked("off"));
        assert_eq!(fields.first_values().get("role").map(String::as_str), Some("a"));
    }
}
