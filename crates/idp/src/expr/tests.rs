use std::collections::BTreeMap;

use super::*;
use crate::directory::{AttributeType, CustomAttribute, Schema};

fn schema() -> Schema {
    let mut schema = Schema::default();
    for (name, kind) in [
        ("connect_username", AttributeType::String),
        ("connect_role", AttributeType::String),
        ("contractor", AttributeType::Boolean),
        ("skills", AttributeType::StringArray),
    ] {
        schema.add(CustomAttribute { name: name.into(), title: String::new(), kind }).unwrap();
    }
    schema
}

struct Person {
    attributes: BTreeMap<&'static str, Value>,
    groups: Vec<(&'static str, &'static str)>,
}

impl Subject for Person {
    fn attribute(&self, name: &str) -> Value {
        self.attributes.get(name).cloned().unwrap_or(Value::Null)
    }
    fn groups(&self) -> Vec<(&str, &str)> {
        self.groups.clone()
    }
}

fn alice() -> Person {
    let mut attributes = BTreeMap::new();
    attributes.insert("login", Value::String("Alice.Agent@example.com".into()));
    attributes.insert("firstName", Value::String("Alice".into()));
    attributes.insert("lastName", Value::String("Agent".into()));
    attributes.insert("connect_username", Value::String("AliceA".into()));
    attributes.insert("contractor", Value::Boolean(false));
    attributes.insert("skills", Value::List(vec!["voice".into(), "chat".into()]));
    Person { attributes, groups: vec![("Connect Agents", "okta"), ("aws_dev_admin", "active_directory")] }
}

fn eval(text: &str) -> Value {
    Expression::parse(text, &schema()).unwrap_or_else(|e| panic!("{text}: {e}")).evaluate(&alice()).unwrap()
}

fn error(text: &str) -> ExprError {
    Expression::parse(text, &schema()).expect_err(text)
}

#[test]
fn attributes_and_string_functions() {
    assert_eq!(eval("user.connect_username"), Value::String("AliceA".into()));
    assert_eq!(eval("user.firstName + \" \" + user.lastName"), Value::String("Alice Agent".into()));
    assert_eq!(eval("String.toLowerCase(user.login)"), Value::String("alice.agent@example.com".into()));
    assert_eq!(eval("String.toUpperCase('ab')"), Value::String("AB".into()));
    assert_eq!(eval("String.substringBefore(user.login, \"@\")"), Value::String("Alice.Agent".into()));
    assert_eq!(eval("String.substringAfter(user.login, \"@\")"), Value::String("example.com".into()));
    assert_eq!(eval("String.replace(user.login, \"[.@]\", \"_\")"), Value::String("Alice_Agent_example_com".into()));
    assert_eq!(eval("String.len(user.firstName)"), Value::Integer(5));
    assert_eq!(eval("String.join(\"-\", user.firstName, null, user.lastName)"), Value::String("Alice--Agent".into()));
    assert_eq!(eval("String.stringContains(user.login, 'example')"), Value::Boolean(true));
}

#[test]
fn unset_attributes_are_null_and_concatenate_as_empty() {
    assert_eq!(eval("user.connect_role"), Value::Null);
    assert_eq!(eval("String.toLowerCase(user.connect_role)"), Value::Null);
    assert_eq!(eval("'x' + user.connect_role"), Value::String("x".into()));
    assert_eq!(eval("user.connect_role == null ? 'none' : user.connect_role"), Value::String("none".into()));
}

#[test]
fn conditions_groups_and_arrays() {
    assert_eq!(eval("isMemberOfGroupName(\"Connect Agents\") ? 'agent' : 'other'"), Value::String("agent".into()));
    assert_eq!(eval("isMemberOfAnyGroup('x', 'aws_dev_admin')"), Value::Boolean(true));
    assert_eq!(eval("!user.contractor && isMemberOfGroupName('nope') || true"), Value::Boolean(true));
    assert_eq!(eval("user.contractor AND true"), Value::Boolean(false));
    assert_eq!(eval("Arrays.contains(user.skills, 'chat')"), Value::Boolean(true));
    assert_eq!(eval("Arrays.size(user.skills)"), Value::Integer(2));
    assert_eq!(eval("Arrays.isEmpty(user.skills)"), Value::Boolean(false));
    assert_eq!(eval("Arrays.toCsvString(user.skills)"), Value::String("voice,chat".into()));
    assert_eq!(eval("Groups.startsWith('active_directory', 'aws_', 10)"), Value::List(vec!["aws_dev_admin".into()]));
    assert_eq!(eval("Groups.contains('okta', 'Agents', 10)"), Value::List(vec!["Connect Agents".into()]));
    assert_eq!(eval("Groups.contains('okta', 'aws', 10)"), Value::List(vec![]));
}

#[test]
fn mistakes_are_reported_with_their_column_at_save_time() {
    let e = error("user.connect_usernme");
    assert_eq!(e.column, 1);
    assert!(e.message.contains("no attribute \"connect_usernme\""), "{e}");
    let e = error("String.toLowercase(user.login)");
    assert!(e.message.contains("unknown function String.toLowercase"), "{e}");
    let e = error("String.toLowerCase(user.login, 'x')");
    assert!(e.message.contains("takes 1 argument(s), not 2"), "{e}");
    let e = error("user.firstName +");
    assert!(e.message.contains("ends too early"), "{e}");
    let e = error("'abc");
    assert!(e.message.contains("not closed"), "{e}");
    let e = error("user.contractor ? 'a' : 1");
    assert!(e.message.contains("both branches"), "{e}");
    let e = error("user.firstName ? 'a' : 'b'");
    assert!(e.message.contains("must be a boolean, not a string"), "{e}");
    let e = error("user.skills + 'x'");
    assert!(e.message.contains("Arrays.toCsvString"), "{e}");
    let e = error("String.replace(user.login, '(', 'x')");
    assert!(e.message.contains("invalid pattern"), "{e}");
    assert_eq!(e.column, 28);
    let e = error("String.replace(user.login, user.email, 'x')");
    assert!(e.message.contains("string literal"), "{e}");
    let e = error("Groups.startsWith('okta', 'a', 1000)");
    assert!(e.message.contains("1 to 100"), "{e}");
    let e = error("user.login user.email");
    assert!(e.message.contains("after the end"), "{e}");
    assert_eq!(e.column, 12);
    let e = error("1 == 'a'");
    assert!(e.message.contains("cannot compare"), "{e}");
    assert!(error("").message.contains("empty"));
    assert!(error("admin.login").message.contains("unknown name"));
}

#[test]
fn cost_is_bounded() {
    let long = format!("'{}'", "a".repeat(MAX_TEXT));
    assert!(error(&long).message.contains("at most"));
    let deep = format!("{}'x'{}", "(".repeat(100), ")".repeat(100));
    assert!(error(&deep).message.contains("deeper"), "{}", error(&deep));
    let wide = vec!["'a'"; 300].join(" + ");
    assert!(error(&wide).message.contains("too complex"));
    let many_negations = format!("{}true", "!".repeat(100));
    assert!(error(&many_negations).message.contains("deeper"));
    // Text alone cannot grow past the limits (no loops, no repetition), but profile values can.
    let mut big = alice();
    big.attributes.insert("login", Value::String("x".repeat(10 * 1024)));
    let expr = Expression::parse("user.login + user.login", &schema()).unwrap();
    assert!(expr.evaluate(&big).unwrap_err().message.contains("size limit"));
    assert!(Expression::parse("user.login", &schema()).unwrap().evaluate(&big).is_ok());
    // A replacement between every two characters of a 16 KiB text is refused, not built.
    let x127 = format!("'{}'", "x".repeat(127));
    let s = format!("String.replace({x127}, '', {x127})");
    assert_eq!(eval(&s), Value::String("x".repeat(128 * 127 + 127)));
    let long_separator = format!("String.join({s}, 'a', 'b', 'c')");
    let e = Expression::parse(&long_separator, &schema()).unwrap().evaluate(&alice()).unwrap_err();
    assert!(e.message.contains("size limit"), "{e}");
    let squared = format!("String.replace({s}, '', {s})");
    let e = Expression::parse(&squared, &schema()).unwrap().evaluate(&alice()).unwrap_err();
    assert!(e.message.contains("size limit"), "{e}");
}

#[test]
fn results_become_attribute_values() {
    assert_eq!(Value::Null.into_attribute_values(), Vec::<String>::new());
    assert_eq!(eval("user.skills").into_attribute_values(), vec!["voice".to_owned(), "chat".to_owned()]);
    assert_eq!(eval("Arrays.size(user.skills)").into_attribute_values(), vec!["2".to_owned()]);
}
