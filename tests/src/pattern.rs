//! EventBridge's event patterns, as Lambda's event filtering reads them (template.yaml's
//! `FilterCriteria`), for the part of the syntax the template uses: objects that nest, lists
//! of exact values, and `{"prefix": "..."}`. Any other operator (`anything-but`, `numeric`,
//! `exists`, `suffix`, ...) is refused when the pattern is read: a filter this module would
//! read wrong fails the test instead of letting the wrong records through.
//!
//! The rules (docs.aws.amazon.com, "Amazon EventBridge event patterns"): every field of the
//! pattern must match; a field whose pattern is an object matches the event's object of that
//! name; a list matches when the event's value, or any element of the event's list, matches
//! any of its values; a field the event lacks matches nothing.

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Pattern(Value);

impl Pattern {
    /// The pattern `text` (JSON); panics if it is not one, or uses an operator not implemented here.
    pub fn parse(text: &str) -> Pattern {
        let pattern: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("an event pattern that is not JSON ({e}): {text}"));
        check(&pattern, text);
        Pattern(pattern)
    }

    /// Whether `event` matches every field of the pattern.
    pub fn matches(&self, event: &Value) -> bool {
        fields_match(&self.0, event)
    }
}

/// Refuses what [`Pattern::matches`] does not implement, naming it.
fn check(pattern: &Value, text: &str) {
    let Value::Object(fields) = pattern else { panic!("an event pattern's fields are objects or lists, not {pattern}: {text}") };
    for value in fields.values() {
        match value {
            Value::Object(_) => check(value, text),
            Value::Array(matchers) => matchers.iter().for_each(|matcher| check_matcher(matcher, text)),
            other => panic!("an event pattern's values are lists, not {other}: {text}"),
        }
    }
}

fn check_matcher(matcher: &Value, text: &str) {
    if let Value::Object(operator) = matcher {
        let supported = operator.len() == 1 && operator.get("prefix").is_some_and(Value::is_string);
        assert!(supported, "the event pattern operator {matcher} is not implemented by tests/src/pattern.rs (only exact values and prefix): {text}");
    }
}

fn fields_match(pattern: &Value, event: &Value) -> bool {
    let Value::Object(fields) = pattern else { return false };
    fields.iter().all(|(name, expected)| match (expected, event.get(name)) {
        (_, None) => false,
        (Value::Object(_), Some(value)) => fields_match(expected, value),
        (Value::Array(matchers), Some(Value::Array(values))) => values.iter().any(|value| any_matches(matchers, value)),
        (Value::Array(matchers), Some(value)) => any_matches(matchers, value),
        _ => false,
    })
}

fn any_matches(matchers: &[Value], value: &Value) -> bool {
    matchers.iter().any(|matcher| match matcher {
        Value::Object(operator) => {
            let prefix = operator["prefix"].as_str().unwrap_or_default();
            value.as_str().is_some_and(|text| text.starts_with(prefix))
        }
        exact => exact == value,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn exact_values_and_prefixes_match_in_nested_fields_and_a_missing_field_matches_nothing() {
        let pattern = Pattern::parse(r#"{"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "MAIL#"}]}}}}"#);
        let record = |name: &str, sk: &str| json!({"eventName": name, "dynamodb": {"Keys": {"sk": {"S": sk}}}});
        assert!(pattern.matches(&record("INSERT", "MAIL#1")) && pattern.matches(&record("MODIFY", "MAIL#")));
        assert!(!pattern.matches(&record("REMOVE", "MAIL#1")) && !pattern.matches(&record("INSERT", "REQUEST")));
        assert!(!pattern.matches(&json!({"eventName": "INSERT"})), "no keys: no match");
        assert!(Pattern::parse(r#"{"tags": ["b"]}"#).matches(&json!({"tags": ["a", "b"]})), "any element of a list");
        assert!(!Pattern::parse(r#"{"n": [1]}"#).matches(&json!({"n": "1"})), "exact: a number is no string");
    }

    #[test]
    #[should_panic(expected = "not implemented")]
    fn an_operator_not_implemented_fails_loudly() {
        Pattern::parse(r#"{"eventName": [{"anything-but": "REMOVE"}]}"#);
    }
}
