//! The attribute-statement expression language: a documented subset of Okta's.
//!
//! ```text
//! user.login  user.email  user.firstName  user.lastName  user.displayName  user.id  user.<custom>
//! "text" 'text' 42 true false null
//! a + b                           concatenation (null counts as empty text)
//! a == b   a != b   !a   a && b   a || b   (AND / OR also accepted)
//! cond ? a : b
//! String.toLowerCase(s)  String.toUpperCase(s)  String.substringBefore(s, sep)
//! String.substringAfter(s, sep)  String.replace(s, "regex", replacement)  String.len(s)
//! String.stringContains(s, part)  String.join(sep, s1, s2, …)
//! Arrays.contains(list, s)  Arrays.size(list)  Arrays.isEmpty(list)  Arrays.toCsvString(list)
//! isMemberOfGroupName("name")  isMemberOfAnyGroup("a", "b", …)
//! Groups.startsWith(source, prefix, limit)  Groups.contains(source, part, limit)
//! ```
//!
//! Expressions are parsed and type-checked against the profile schema when an app is saved,
//! so a typo is reported to the administrator, not to a person signing in. Cost is bounded:
//! at most 2,048 characters, 256 nodes and depth 32; no loops; `String.replace` takes a literal
//! pattern compiled once (linear-time regex); text results stop at 16 KiB and lists at 1,000 items.

mod eval;
mod lexer;
mod parser;

use std::fmt;

pub use eval::Subject;

pub const MAX_TEXT: usize = 2048;
pub const MAX_NODES: usize = 256;
pub const MAX_DEPTH: usize = 32;
pub const MAX_STRING: usize = 16 * 1024;
pub const MAX_LIST: usize = 1000;

/// The static type of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Integer,
    List,
    Null,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Boolean => "boolean",
            Type::Integer => "integer",
            Type::List => "list",
            Type::Null => "null",
        }
    }
}

/// A value an expression yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    String(String),
    Boolean(bool),
    Integer(i64),
    List(Vec<String>),
}

impl Value {
    /// The attribute values this becomes in an assertion: null and empty lists give none.
    pub fn into_attribute_values(self) -> Vec<String> {
        match self {
            Value::Null => Vec::new(),
            Value::String(s) => vec![s],
            Value::Boolean(b) => vec![b.to_string()],
            Value::Integer(i) => vec![i.to_string()],
            Value::List(items) => items,
        }
    }
}

/// Where a parse or type error is (1-based column) and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub column: usize,
    pub message: String,
}

impl ExprError {
    pub(crate) fn at(column: usize, message: impl Into<String>) -> Self {
        ExprError { column, message: message.into() }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ExprError {}

/// What the type checker knows about `user.<name>`.
pub trait Attributes {
    fn attribute_type(&self, name: &str) -> Option<Type>;
}

impl Attributes for crate::directory::Schema {
    fn attribute_type(&self, name: &str) -> Option<Type> {
        use crate::directory::{AttributeType, BASE_ATTRIBUTES};
        if BASE_ATTRIBUTES.contains(&name) {
            return Some(Type::String);
        }
        self.custom_attribute(name).map(|a| match a.kind {
            AttributeType::String => Type::String,
            AttributeType::Boolean => Type::Boolean,
            AttributeType::Integer => Type::Integer,
            AttributeType::StringArray => Type::List,
        })
    }
}

/// A parsed, type-checked expression, ready to evaluate any number of times.
#[derive(Debug, Clone)]
pub struct Expression {
    root: parser::Expr,
    text: String,
}

impl Expression {
    pub fn parse(text: &str, attributes: &dyn Attributes) -> Result<Expression, ExprError> {
        if text.chars().count() > MAX_TEXT {
            return Err(ExprError::at(MAX_TEXT, format!("an expression may be at most {MAX_TEXT} characters")));
        }
        let tokens = lexer::tokenize(text)?;
        let root = parser::parse(&tokens, attributes)?;
        Ok(Expression { root, text: text.to_owned() })
    }

    pub fn result_type(&self) -> Type {
        self.root.ty
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates for one person. Errors here are only the bounded-cost limits.
    pub fn evaluate(&self, subject: &dyn Subject) -> Result<Value, ExprError> {
        eval::evaluate(&self.root, subject)
    }
}

#[cfg(test)]
mod tests;
