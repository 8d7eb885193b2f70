//! The template's parameters refuse at deploy time what the functions would refuse at start
//! (`shared::config`): the same bounds, so a stack cannot be deployed whose functions fail
//! their init. Read line by line, as `routes_match_template.rs` reads the template.

use std::collections::BTreeMap;
use std::path::Path;

use shared::config::{Config, MAX_COUNT, REMINDER_BEFORE_RANGE, RESEND_COOLDOWN_RANGE, TOKEN_TTL_RANGE};

/// Each parameter's `key: value` lines (one level under its name).
fn parameters() -> BTreeMap<String, BTreeMap<String, String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").join("template.yaml");
    let text = std::fs::read_to_string(&path).expect("template.yaml at the workspace root");
    let mut parameters: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let (mut inside, mut current) = (false, None::<String>);
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            inside = line.trim_end() == "Parameters:";
            continue;
        }
        if !inside {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let Some((key, value)) = line.trim().split_once(':') else { continue };
        match indent {
            2 => current = Some(key.to_owned()),
            4 => {
                let name = current.clone().expect("a parameter's property under its name");
                parameters.entry(name).or_default().insert(key.to_owned(), value.trim().trim_matches('"').to_owned());
            }
            _ => {}
        }
    }
    assert!(parameters.contains_key("TokenTtlSeconds"), "the Parameters section was read: {parameters:?}");
    parameters
}

fn bounds(parameters: &BTreeMap<String, BTreeMap<String, String>>, name: &str) -> (i64, i64) {
    let parameter = &parameters[name];
    let number = |key: &str| parameter.get(key).unwrap_or_else(|| panic!("{name} has no {key}")).parse::<i64>().unwrap_or_else(|e| panic!("{name}.{key}: {e}"));
    (number("MinValue"), number("MaxValue"))
}

#[test]
fn the_numeric_parameters_have_the_bounds_the_functions_accept() {
    let parameters = parameters();
    assert_eq!(bounds(&parameters, "TokenTtlSeconds"), TOKEN_TTL_RANGE);
    assert_eq!(bounds(&parameters, "ResendCooldownSeconds"), RESEND_COOLDOWN_RANGE);
    assert_eq!(bounds(&parameters, "ReminderBeforeSeconds"), REMINDER_BEFORE_RANGE);
    assert_eq!(bounds(&parameters, "ResendLimit"), (1, i64::from(MAX_COUNT)));
    assert_eq!(bounds(&parameters, "UnacceptedRequestLimit"), (1, i64::from(MAX_COUNT)));
    // And each default starts a function.
    let env = [
        ("TokenTtlSeconds", "TOKEN_TTL_SECONDS"),
        ("ResendCooldownSeconds", "RESEND_COOLDOWN_SECONDS"),
        ("ReminderBeforeSeconds", "REMINDER_BEFORE_SECONDS"),
        ("ResendLimit", "RESEND_LIMIT"),
        ("UnacceptedRequestLimit", "UNACCEPTED_REQUEST_LIMIT"),
    ];
    for (parameter, variable) in env {
        let default = parameters[parameter]["Default"].clone();
        assert!(Config::from_lookup(|name| (name == variable).then(|| default.clone())).is_ok(), "{parameter}'s default {default}");
    }
}

#[test]
fn the_public_base_url_is_https_only_and_the_log_level_never_trace() {
    let parameters = parameters();
    let pattern = &parameters["PublicBaseUrl"]["AllowedPattern"];
    assert!(pattern.starts_with("^https://"), "PublicBaseUrl's AllowedPattern admits https only: {pattern}");
    let levels = &parameters["LogLevel"]["AllowedValues"];
    assert!(!levels.contains("TRACE") && levels.contains("DEBUG"), "LogLevel: {levels}");
}
