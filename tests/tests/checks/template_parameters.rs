//! The template's parameters refuse at deploy time what the functions would refuse at start
//! (`contacts_app::config`) or AWS would refuse at deploy: the same bounds, so a stack cannot be
//! deployed whose functions fail their init or whose resources fail to create; and every value
//! they allow deploys on a new account and keeps the metrics. Read line by line, as
//! `routes_match_template.rs` reads the template.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use contacts_app::config::{Config, LOG_LEVEL, MAX_COUNT, REMINDER_BEFORE_RANGE, RESEND_COOLDOWN_RANGE, SES_MAX_SEND_RATE_RANGE, TOKEN_TTL_RANGE, log_spec};
use contacts_telemetry::{self as telemetry, Metric};
use serde_json::Value;

fn template() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").join("template.yaml");
    std::fs::read_to_string(&path).expect("template.yaml at the workspace root")
}

/// Each parameter's `key: value` lines (one level under its name).
fn parameters() -> BTreeMap<String, BTreeMap<String, String>> {
    let text = template();
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
    assert_eq!(bounds(&parameters, "RetentionSeconds"), contacts_domain::Retention::RANGE_SECONDS);
    assert_eq!(bounds(&parameters, "ResendLimit"), (1, i64::from(MAX_COUNT)));
    assert_eq!(bounds(&parameters, "UnacceptedRequestLimit"), (1, i64::from(MAX_COUNT)));
    assert_eq!(bounds(&parameters, "SesMaxSendRate"), (i64::from(SES_MAX_SEND_RATE_RANGE.0), i64::from(SES_MAX_SEND_RATE_RANGE.1)));
    // And each default starts a function.
    let env = [
        ("TokenTtlSeconds", "TOKEN_TTL_SECONDS"),
        ("ResendCooldownSeconds", "RESEND_COOLDOWN_SECONDS"),
        ("ReminderBeforeSeconds", "REMINDER_BEFORE_SECONDS"),
        ("RetentionSeconds", "RETENTION_SECONDS"),
        ("ResendLimit", "RESEND_LIMIT"),
        ("UnacceptedRequestLimit", "UNACCEPTED_REQUEST_LIMIT"),
        ("SesMaxSendRate", "SES_MAX_SEND_RATE"),
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

#[test]
fn the_webhook_url_is_https_only_as_eventbridge_api_destinations_need() {
    // EventBridge's API destinations call HTTPS endpoints only: an http WebhookUrl would fail the
    // stack at its ApiDestination. The same URL rule as PublicBaseUrl's, and empty for none.
    let parameters = parameters();
    let public = &parameters["PublicBaseUrl"]["AllowedPattern"];
    let inner = public.strip_prefix('^').and_then(|p| p.strip_suffix('$')).expect("PublicBaseUrl's pattern is anchored");
    assert_eq!(parameters["WebhookUrl"]["AllowedPattern"], format!("^({inner})?$"), "WebhookUrl: PublicBaseUrl's https rule, or empty");
    assert_eq!(parameters["WebhookUrl"]["Default"], "");
}

#[test]
fn the_jwt_authorizer_always_requires_the_panel_scope_so_no_id_token_passes() {
    // SPEC §5: only access tokens open the API. An ID token carries no scope: the authorizer's
    // authorization scopes keep it out, as long as there is one, whatever the parameters say.
    let parameters = parameters();
    let scope = &parameters["PanelScope"];
    assert!(!scope["Default"].is_empty(), "PanelScope has a default");
    assert!(scope["AllowedPattern"].ends_with("]+$"), "PanelScope is never empty: {}", scope["AllowedPattern"]);
    let resources = section(&template(), "Resources:");
    let at = resources.iter().position(|line| line.trim() == "AuthorizationScopes:").expect("the JWT authorizer has AuthorizationScopes");
    assert_eq!(resources[at + 1].trim(), "- !Ref PanelScope", "the authorizer requires PanelScope, unconditionally");
}

/// The lines of a top-level section (`Globals:`, `Resources:`), comments left out.
fn section(text: &str, name: &str) -> Vec<String> {
    let mut inside = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            inside = line.trim_end() == name;
            continue;
        }
        if inside && !line.trim_start().starts_with('#') {
            lines.push(line.to_owned());
        }
    }
    assert!(!lines.is_empty(), "template.yaml has no {name} section");
    lines
}

/// The value of the one `key:` line in `lines`.
fn value_of(lines: &[String], key: &str) -> String {
    let found: Vec<&str> = lines.iter().filter_map(|l| l.trim().strip_prefix(key).and_then(|rest| rest.strip_prefix(':'))).map(str::trim).collect();
    assert_eq!(found.len(), 1, "template.yaml: one `{key}:` line expected in its section, found {found:?}");
    found[0].to_owned()
}

/// Lambda's application log levels, from the most detailed.
const LAMBDA_LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

fn rank(level: &str) -> usize {
    LAMBDA_LEVELS.iter().position(|l| l.eq_ignore_ascii_case(level)).unwrap_or_else(|| panic!("{level} is none of Lambda's log levels"))
}

/// Whether Lambda sends a JSON line of the function's to CloudWatch Logs with log-level filtering
/// at `application_log_level` (AWS Lambda developer guide, "Log-level filtering"): the line's
/// level is its `level` field when that is a valid level, else INFO (a missing or invalid level
/// counts as INFO), and Lambda sends the lines at that level or less detailed.
fn lambda_sends(line: &Value, application_log_level: &str) -> bool {
    let level = line.get("level").and_then(Value::as_str).filter(|l| LAMBDA_LEVELS.iter().any(|v| v.eq_ignore_ascii_case(l))).unwrap_or("INFO");
    rank(level) >= rank(application_log_level)
}

/// A value of the template as `LogLevel` = `level` makes it: `!Ref LogLevel` is the level, a
/// literal is itself; anything else is beyond this test's reading.
fn resolved(value: &str, level: &str) -> String {
    match value.trim_matches('"') {
        "!Ref LogLevel" => level.to_owned(),
        literal if !literal.starts_with('!') => literal.to_owned(),
        other => panic!("template.yaml: {other}: this test reads a literal or !Ref LogLevel"),
    }
}

#[tokio::test]
async fn the_metrics_reach_cloudwatch_at_every_log_level_the_template_allows() {
    // The EMF lines the functions print (a count, its reason's line, the latency), as the code
    // writes them: no `level` field, so Lambda counts them INFO.
    let ((), invocation) = telemetry::measure("confirm", async {
        telemetry::count(Metric::ChangesDone);
        telemetry::count_by(Metric::ChangesFailed, "holders_changed");
    })
    .await;
    let emf = invocation.emf(contacts_telemetry::DEFAULT_NAMESPACE, SystemTime::now());
    assert_eq!(emf.len(), 2, "{emf:?}");

    let text = template();
    let globals = section(&text, "Globals:");
    let resources = section(&text, "Resources:");
    // The functions' logging is set once, in Globals: no function may filter otherwise.
    for key in ["LoggingConfig:", "ApplicationLogLevel:", "LOG_LEVEL:"] {
        assert!(!resources.iter().any(|l| l.trim_start().starts_with(key)), "template.yaml: a function sets its own {key} (Globals holds it)");
    }
    let application_log_level = value_of(&globals, "ApplicationLogLevel");
    let log_level_variable = value_of(&globals, LOG_LEVEL);

    let parameters = parameters();
    let allowed = parameters["LogLevel"]["AllowedValues"].trim_matches(['[', ']']).split(',').map(|l| l.trim().to_owned()).collect::<Vec<_>>();
    assert!(allowed.len() >= 5, "LogLevel's AllowedValues, as read: {allowed:?}");
    for level in &allowed {
        let lambda_filter = resolved(&application_log_level, level);
        for line in &emf {
            assert!(lambda_sends(line, &lambda_filter), "LogLevel {level}: Lambda's ApplicationLogLevel {lambda_filter} drops the metrics' line {line}");
        }
        // The functions filter their own lines at the level asked, whatever Lambda's is...
        let asked = resolved(&log_level_variable, level);
        let lookup = |name: &str| match name {
            LOG_LEVEL => Some(asked.clone()),
            "AWS_LAMBDA_LOG_LEVEL" => Some(lambda_filter.clone()),
            _ => None,
        };
        let expected = if level == "FATAL" { "error".to_owned() } else { level.to_ascii_lowercase() };
        assert_eq!(log_spec(lookup), expected, "LogLevel {level}: the functions log at another level");
        // ...and Lambda passes what they write at it.
        let theirs = serde_json::json!({ "level": level, "message": "a line at the level asked" });
        assert!(lambda_sends(&theirs, &lambda_filter), "LogLevel {level}: Lambda's ApplicationLogLevel {lambda_filter} drops the functions' own {level} lines");
    }
}

#[test]
fn no_concurrency_is_reserved_unless_a_parameter_asks_for_it() {
    // Lambda keeps 100 of an account's concurrency unreserved, and a new account's limit may leave
    // nothing to reserve: a reservation by default would roll the stack back there.
    let text = template();
    let parameters = parameters();
    let reservations: Vec<String> =
        section(&text, "Resources:").iter().filter_map(|l| l.trim().strip_prefix("ReservedConcurrentExecutions:").map(|v| v.trim().to_owned())).collect();
    for reservation in &reservations {
        let inner = reservation
            .strip_prefix("!If [")
            .and_then(|r| r.strip_suffix(", !Ref AWS::NoValue]"))
            .unwrap_or_else(|| panic!("ReservedConcurrentExecutions: {reservation}: reserve only through !If [condition, !Ref parameter, !Ref AWS::NoValue]"));
        let (condition, parameter) = inner.split_once(", !Ref ").expect("!If [condition, !Ref parameter, ...]");
        assert_eq!(parameters[parameter]["Default"], "0", "{parameter} reserves nothing by default");
        assert_eq!(parameters[parameter]["MinValue"], "0", "{parameter} may reserve nothing");
        let conditions = section(&text, "Conditions:");
        assert_eq!(
            value_of(&conditions, condition),
            format!("!Not [!Equals [!Ref {parameter}, \"0\"]]"),
            "{condition}: a reservation only when {parameter} asks for one"
        );
    }
}

#[test]
fn docs_deploying_lists_every_parameter_of_the_template_and_no_other() {
    // A provider reads the parameters in docs/deploying.md's table: one it does not list is one
    // nobody is told about, one it lists that the template lacks fails `sam deploy`.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
    let doc = std::fs::read_to_string(root.join("docs/deploying.md")).expect("docs/deploying.md");
    let table = doc.split("| parameter | default | meaning |").nth(1).expect("docs/deploying.md has the parameters' table");
    let listed: Vec<String> = table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.trim_start_matches("| `").split_once('`').map(|(name, _)| name.to_owned()))
        .collect();
    let mut documented = listed.clone();
    documented.sort();
    documented.dedup();
    assert_eq!(documented.len(), listed.len(), "a parameter listed twice: {listed:?}");
    let template: Vec<String> = parameters().into_keys().collect();
    assert_eq!(documented, template, "docs/deploying.md's parameters (left) and template.yaml's (right)");
}
