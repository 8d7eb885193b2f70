//! The route table is written once, in `contacts_api::ROUTES`; `template.yaml` (what API
//! Gateway routes to which function) and `events/` (one event per route) must say the same.
//!
//! The template is read line by line rather than with a YAML parser: every route event in it
//! has one `Method:` and one `Path:` line, the functions name their binary in
//! `Metadata.BuildProperties.Binary`, and a route that is not behind the default (JWT)
//! authorizer says so with `Authorizer: NONE` or `Authorizer: AWS_IAM`.
//! That shape is asserted here too, so a template that drifted from it fails loudly instead of
//! being read wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use contacts_api::routes;
use contacts_api::{Auth, Function, ROUTES};
use http::Method;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

fn function_named(name: &str) -> Option<Function> {
    Function::ALL.into_iter().find(|f| f.name() == name)
}

/// One route event of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TemplateRoute {
    resource: String,
    method: String,
    path: String,
    auth: Auth,
}

/// The template's function resources (logical id -> binary) and route events.
struct Template {
    binaries: BTreeMap<String, String>,
    routes: Vec<TemplateRoute>,
}

fn read_template() -> Template {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml at the workspace root");
    let value = |line: &str, key: &str| line.trim().strip_prefix(key).map(|v| v.trim().trim_matches(['"', '\'']).to_owned());
    let mut in_resources = false;
    let mut resource = String::new();
    let mut binaries = BTreeMap::new();
    let mut routes: Vec<TemplateRoute> = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            in_resources = line.trim_end() == "Resources:";
            continue;
        }
        if !in_resources {
            continue;
        }
        // A resource's logical id: two spaces of indentation.
        if let Some(id) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')).and_then(|l| l.trim_end().strip_suffix(':')) {
            resource = id.to_owned();
            continue;
        }
        if let Some(binary) = value(line, "Binary:") {
            binaries.insert(resource.clone(), binary);
        } else if let Some(method) = value(line, "Method:") {
            routes.push(TemplateRoute { resource: resource.clone(), method: method.to_ascii_uppercase(), path: String::new(), auth: Auth::Jwt });
        } else if let Some(path) = value(line, "Path:") {
            let Some(route) = routes.last_mut().filter(|r| r.resource == resource && r.path.is_empty()) else {
                panic!("template.yaml: `Path: {path}` in {resource} without a `Method:` line just before it")
            };
            route.path = path;
        } else if let Some(authorizer) = value(line, "Authorizer:") {
            let route = routes.last_mut().filter(|r| r.resource == resource);
            let route = route.unwrap_or_else(|| panic!("template.yaml: `Authorizer:` in {resource} outside a route event"));
            route.auth = match authorizer.as_str() {
                "NONE" => Auth::Public,
                "AWS_IAM" => Auth::Iam,
                other => panic!("template.yaml: {} {}: a route's Authorizer is the default (JWT), NONE or AWS_IAM, not {other}", route.method, route.path),
            };
        }
    }
    for route in &routes {
        assert!(!route.path.is_empty(), "template.yaml: {} {} in {} has no Path", route.method, route.path, route.resource);
    }
    Template { binaries, routes }
}

/// `GET /v1/services/{service}` -> `get-services`: the method and the fixed segments, without `v1`.
fn slug(method: &str, path: &str) -> String {
    let mut parts = vec![method.to_ascii_lowercase()];
    parts.extend(path.split('/').filter(|s| !s.is_empty() && *s != "v1" && !s.starts_with('{')).map(str::to_owned));
    parts.join("-")
}

fn spec_routes() -> BTreeSet<(String, &'static str)> {
    ROUTES.iter().map(|r| (r.route_key(), r.function.name())).collect()
}

#[test]
fn the_template_routes_each_route_of_the_table_to_its_function_and_nothing_else() {
    let template = read_template();
    let mut seen = BTreeSet::new();
    for route in &template.routes {
        let binary = template
            .binaries
            .get(&route.resource)
            .unwrap_or_else(|| panic!("template.yaml: {} routes to {}, which names no Binary", route.path, route.resource));
        let function = function_named(binary).unwrap_or_else(|| panic!("template.yaml: {} builds `{binary}`, which is no Function", route.resource));
        let key = format!("{} {}", route.method, route.path);
        assert!(seen.insert((key.clone(), function.name())), "template.yaml routes {key} twice");
    }
    assert_eq!(seen, spec_routes(), "template.yaml (left) and contacts_api::ROUTES (right) differ");
}

#[test]
fn each_route_has_the_authorizer_the_route_table_gives_it() {
    let template = read_template();
    for spec in ROUTES {
        let route = template.routes.iter().find(|r| format!("{} {}", r.method, r.path) == spec.route_key()).expect("checked above");
        assert_eq!(route.auth, spec.auth, "{}: the template (left) and the route table (right) differ", spec.route_key());
    }
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert!(text.lines().any(|l| l.trim() == "EnableIamAuthorizer: true"), "template.yaml: AWS_IAM on a route needs EnableIamAuthorizer: true on the HTTP API");
}

/// The functions of `functions/` that no HTTP route reaches (their events: `{name}.*.json`).
const NOT_ROUTED: [&str; 4] = ["sweeper", "bounces", "mailer", "publisher"];

#[test]
fn every_function_of_the_template_is_a_binary_of_functions() {
    let template = read_template();
    let built: BTreeSet<&str> = template.binaries.values().map(String::as_str).collect();
    // The route table's functions, and the functions no route reaches (the scheduled sweep,
    // SES's events through EventBridge, the table's stream).
    let mut all: BTreeSet<&str> = Function::ALL.iter().map(|f| f.name()).collect();
    all.extend(NOT_ROUTED);
    assert_eq!(built, all, "template.yaml builds these binaries (left), the route table and NOT_ROUTED have these functions (right)");
    for name in all {
        let manifest =
            std::fs::read_to_string(root().join("functions").join(name).join("Cargo.toml")).unwrap_or_else(|e| panic!("functions/{name}/Cargo.toml: {e}"));
        assert!(manifest.contains(&format!("name = \"{name}\"")), "functions/{name}/Cargo.toml must build a binary named {name}, which SAM's Binary picks");
    }
}

#[test]
fn events_hold_one_event_per_route_named_after_its_function_and_route() {
    let mut seen = BTreeSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(root().join("events")).expect("events/ at the workspace root") {
        let path = entry.expect("a readable entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).unwrap_or_else(|e| panic!("events/{name}: {e}"));
        if name.starts_with("sweeper.") {
            // A scheduled job's event (EventBridge Scheduler's shape), not an HTTP one.
            assert_eq!(name, "sweeper.scheduled.json", "events/{name}");
            assert_eq!(event["detail-type"], "Scheduled Event", "events/{name}");
            assert_eq!(event["source"], "aws.scheduler", "events/{name}");
            continue;
        }
        if name.starts_with("mailer.") {
            // The table's stream as Lambda delivers it: inserted mail items, keys only.
            assert_eq!(name, "mailer.dynamodb-stream.json", "events/{name}");
            for record in event["Records"].as_array().unwrap_or_else(|| panic!("events/{name}: Lambda's DynamoDB event has Records")) {
                assert_eq!((&record["eventSource"], &record["eventName"]), (&"aws:dynamodb".into(), &"INSERT".into()), "events/{name}");
                assert_eq!(record["dynamodb"]["StreamViewType"], "KEYS_ONLY", "events/{name}: the table's stream holds keys only");
                assert!(record["dynamodb"]["Keys"]["sk"]["S"].as_str().is_some_and(|sk| sk.starts_with("MAIL#")), "events/{name}: a mail item's keys");
                assert!(record["dynamodb"]["SequenceNumber"].is_string() && record["eventSourceARN"].is_string(), "events/{name}");
            }
            continue;
        }
        if name.starts_with("publisher.") {
            // The table's stream as Lambda delivers it: inserted event items, keys only.
            assert_eq!(name, "publisher.dynamodb-stream.json", "events/{name}");
            for record in event["Records"].as_array().unwrap_or_else(|| panic!("events/{name}: Lambda's DynamoDB event has Records")) {
                assert_eq!((&record["eventSource"], &record["eventName"]), (&"aws:dynamodb".into(), &"INSERT".into()), "events/{name}");
                assert_eq!(record["dynamodb"]["StreamViewType"], "KEYS_ONLY", "events/{name}: the table's stream holds keys only");
                assert_eq!(record["dynamodb"]["Keys"]["sk"]["S"], "EVENT", "events/{name}: an event item's keys");
                assert!(record["dynamodb"]["SequenceNumber"].is_string() && record["eventSourceARN"].is_string(), "events/{name}");
            }
            continue;
        }
        if NOT_ROUTED.iter().any(|f| name.starts_with(&format!("{f}."))) {
            continue;
        }
        files += 1;
        let route_key = event["routeKey"].as_str().unwrap_or_else(|| panic!("events/{name} has no routeKey"));
        assert_eq!(event["version"], "2.0", "events/{name}: an HTTP API payload 2.0 event");
        assert_eq!(event["requestContext"]["routeKey"], route_key, "events/{name}: routeKey and requestContext.routeKey differ");
        let spec = ROUTES.iter().find(|r| r.route_key() == route_key).unwrap_or_else(|| panic!("events/{name}: {route_key} is no route"));
        let (method, pattern) = route_key.split_once(' ').expect("METHOD PATH");
        assert_eq!(name, format!("{}.{}.json", spec.function.name(), slug(method, pattern)), "events/{name} is misnamed");

        // The event's request reaches this route and no other.
        let raw_path = event["rawPath"].as_str().unwrap_or_else(|| panic!("events/{name} has no rawPath"));
        assert_eq!(event["requestContext"]["http"]["method"], method, "events/{name}");
        assert_eq!(event["requestContext"]["http"]["path"], raw_path, "events/{name}");
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let (found, _) = routes::find(&method, raw_path, Some(spec.function)).unwrap_or_else(|e| panic!("events/{name}: {raw_path} matches no route: {e}"));
        assert_eq!(found.route_key(), route_key, "events/{name}: its rawPath belongs to another route");
        assert!(event["rawQueryString"].is_string(), "events/{name}: rawQueryString is always there, if empty");

        // Claims exactly where the JWT authorizer runs, and only strings, as API Gateway sends
        // them; the IAM principal exactly where IAM authorization runs.
        let authorizer = &event["requestContext"]["authorizer"];
        let claims = &authorizer["jwt"]["claims"];
        match spec.auth {
            Auth::Jwt => {
                let claims = claims.as_object().unwrap_or_else(|| panic!("events/{name}: a signed-in route's event has JWT claims"));
                assert!(claims.contains_key("sub"), "events/{name}: the default ACCOUNT_CLAIM, sub, is there");
                for (claim, value) in claims {
                    assert!(value.is_string(), "events/{name}: claim {claim} is not a string; one non-string claim fails the whole event");
                }
                assert!(authorizer["iam"].is_null(), "events/{name}: a customer's route has no IAM principal");
            }
            Auth::Public => assert!(authorizer.is_null(), "events/{name}: {route_key} is behind no authorizer, so its event has no authorizer context"),
            Auth::Iam => {
                assert!(claims.is_null(), "events/{name}: {route_key} is behind IAM, so its event has no JWT claims");
                assert!(authorizer["iam"]["userArn"].is_string(), "events/{name}: the signing principal, requestContext.authorizer.iam.userArn");
            }
        }
        assert!(seen.insert((route_key.to_owned(), spec.function.name())), "two events for {route_key}");
    }
    assert_eq!(files, seen.len());
    assert_eq!(seen, spec_routes(), "events/ (left) and contacts_api::ROUTES (right) differ");
}

#[test]
fn the_template_reader_sees_every_route_event_of_the_template() {
    // A guard on the line reader: as many route events as `Type: HttpApi` lines.
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let events = text.lines().filter(|l| l.trim() == "Type: HttpApi").count();
    assert_eq!(read_template().routes.len(), events);
    assert_eq!(events, ROUTES.len());
}

/// Each function resource's binary (`Metadata.Binary`), and whether its part of template.yaml
/// grants its role `action`.
fn functions_granted(action: &str) -> BTreeMap<String, bool> {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    let mut granted = BTreeMap::new();
    let (mut binary, mut grants) = (None::<String>, false);
    for line in text.lines().chain(std::iter::once("  End:")) {
        let resource_start = line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':');
        if resource_start || !line.starts_with(' ') {
            if let Some(name) = binary.take() {
                granted.insert(name, grants);
            }
            grants = false;
        }
        if let Some(name) = line.trim().strip_prefix("Binary:") {
            binary = Some(name.trim().to_owned());
        }
        grants |= line.trim() == format!("Action: {action}") || line.trim() == format!("- {action}");
    }
    assert!(granted.len() >= 10 && granted.values().any(|g| *g) && granted.values().any(|g| !*g), "{action}: {granted:?}");
    granted
}

fn source(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The functions that build an SES client (their `main` chooses `Mailing::SES`, or runs an
/// entry point that does) are exactly those whose role template.yaml lets call
/// `ses:SendEmail`: one that may not send builds no client in its init and links none
/// (issue #15), and one that sends has a client (a `Mailing::NONE` there would refuse its mails).
#[test]
fn the_functions_with_an_ses_client_are_those_the_template_lets_send_mail() {
    // The entry points of the jobs choose for their functions.
    assert!(source("crates/lambda/src/scheduled.rs").contains("Mailing::SES"));
    assert!(source("crates/lambda/src/mailer.rs").contains("Mailing::SES"));
    assert!(source("crates/lambda/src/job.rs").contains("Mailing::NONE") && !source("crates/lambda/src/job.rs").contains("Mailing::SES"));
    assert!(source("crates/lambda/src/publisher.rs").contains("Mailing::NONE") && !source("crates/lambda/src/publisher.rs").contains("Mailing::SES"));
    for (name, sends) in functions_granted("ses:SendEmail") {
        let main = source(&format!("functions/{name}/src/main.rs"));
        let builds_ses = main.contains("Mailing::SES") || main.contains("run_scheduled") || main.contains("mailer::run");
        let builds_none = ["Mailing::NONE", "run_panel", "run_bounces", "publisher::run"].iter().any(|entry| main.contains(entry));
        assert!(builds_ses || builds_none, "{name}: which mailer?");
        assert_eq!(builds_ses, sends, "{name}: an SES client if and only if its role may send (template.yaml)");
    }
}

/// Likewise the EventBridge client: built (and linked) only by the functions whose role may
/// call `events:PutEvents`, which are the publisher and the sweeper (its redrive). The HTTP
/// functions' entry point chooses `Publishing::NONE` for all of them.
#[test]
fn the_functions_with_an_eventbridge_client_are_those_the_template_lets_put_events() {
    let chooses = |path: &str, publishing: &str| {
        let text = source(path);
        assert!(text.contains(&format!("Publishing::{publishing}")), "{path} chooses Publishing::{publishing}");
        assert_eq!(text.matches("Publishing::EVENTBRIDGE").count() + text.matches("Publishing::NONE").count(), 1, "{path}: one choice");
    };
    chooses("crates/lambda/src/scheduled.rs", "EVENTBRIDGE");
    chooses("crates/lambda/src/publisher.rs", "EVENTBRIDGE");
    chooses("crates/lambda/src/mailer.rs", "NONE");
    chooses("crates/lambda/src/job.rs", "NONE");
    chooses("crates/lambda/src/lib.rs", "NONE");
    for (name, puts) in functions_granted("events:PutEvents") {
        let main = source(&format!("functions/{name}/src/main.rs"));
        let builds_eventbridge = main.contains("run_scheduled") || main.contains("publisher::run");
        assert_eq!(builds_eventbridge, puts, "{name}: an EventBridge client if and only if its role may put events (template.yaml)");
    }
}

/// The API's access log (SECURITY.md, deployment notes) names a request by its route's template
/// and holds nothing personal or secret: it is a JSON object of `$context` variables, none of
/// which carries the path (it names requests, services and accounts), the query, the source
/// address, the user agent, a claim, the caller's identity or a header.
#[test]
fn the_access_log_holds_the_route_and_nothing_personal() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let formats: Vec<&str> = text.lines().filter_map(|l| l.trim().strip_prefix("Format: ")).collect();
    assert_eq!(formats.len(), 1, "template.yaml: one access log Format, found {formats:?}");
    let format: Value = serde_json::from_str(formats[0].trim_matches('\'')).expect("the access log's Format is a JSON object");
    let fields = format.as_object().expect("a JSON object");
    assert_eq!(fields.get("route").and_then(Value::as_str), Some("$context.routeKey"), "the route by its template");
    for (name, value) in fields {
        let variable = value.as_str().unwrap_or_default();
        assert!(variable.starts_with("$context.") && !variable.contains(' '), "{name}: one $context variable, not {variable}");
        for personal in ["$context.path", "identity.", "authorizer.claims", "authorizer.principalId", "domainPrefix", "customDomain", "requestOverride"] {
            assert!(!variable.contains(personal), "{name}: {variable} may carry personal data or a secret");
        }
    }
}
