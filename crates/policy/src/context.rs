//! The request context: condition keys (case-insensitive) and their values.

use std::collections::BTreeMap;

/// One value of a context key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Bool(bool),
    Number(f64),
    /// Seconds since the Unix epoch.
    Date(i64),
    Ip(std::net::IpAddr),
    /// Base64 text, compared as written.
    Binary(String),
}

impl Value {
    /// The value as policy variables substitute it.
    pub fn as_text(&self) -> String {
        match self {
            Value::String(s) | Value::Binary(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Date(d) => d.to_string(),
            Value::Ip(ip) => ip.to_string(),
        }
    }
}

/// Keys are stored lowercased: condition key names are case-insensitive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context(BTreeMap<String, Vec<Value>>);

impl Context {
    pub fn insert(&mut self, key: &str, values: Vec<Value>) {
        self.0.insert(key.to_ascii_lowercase(), values);
    }
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.insert(key, vec![Value::String(value.into())]);
    }
    pub fn get(&self, key: &str) -> Option<&[Value]> {
        self.0.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}
