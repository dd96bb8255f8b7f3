//! Untrusted attribute-statement expressions: parse and type-check against a schema, then
//! evaluate for a person; both must stay within their bounds and never panic.
#![no_main]
use idfed_idp::directory::{AttributeType, CustomAttribute, Schema};
use idfed_idp::expr::{Expression, Subject, Value};
use libfuzzer_sys::fuzz_target;

struct Person;

impl Subject for Person {
    fn attribute(&self, name: &str) -> Value {
        match name {
            "login" => Value::String("Ada.Admin@example.com".into()),
            "skills" => Value::List(vec!["voice".into(), "chat".into()]),
            "contractor" => Value::Boolean(false),
            _ => Value::Null,
        }
    }
    fn groups(&self) -> Vec<(&str, &str)> {
        vec![("Connect Agents", "okta"), ("aws#111122223333#Admin", "active_directory")]
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut schema = Schema::default();
    for (name, kind) in [("skills", AttributeType::StringArray), ("contractor", AttributeType::Boolean), ("connect_username", AttributeType::String)] {
        let _ = schema.add(CustomAttribute { name: name.into(), title: String::new(), kind });
    }
    if let Ok(expression) = Expression::parse(text, &schema) {
        let _ = expression.evaluate(&Person);
    }
});
