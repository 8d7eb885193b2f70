//! Issue 17: an alarm cannot watch nothing. Every metric that template.yaml's alarms and its
//! dashboard read is one the code emits (`contacts_telemetry::Metric`, under the template's
//! `MetricsNamespace`, with the dimensions the code gives it and a `function` that exists), or an
//! AWS service's metric of a resource the template defines. Read line by line, as
//! `routes_match_template.rs` reads the template.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use contacts_telemetry::{FUNCTION, Metric};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_owned()
}

/// The template's resources: each name's `Type` and its lines (those indented under it).
fn resources() -> BTreeMap<String, (String, Vec<String>)> {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml at the workspace root");
    let mut resources: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let (mut inside, mut current) = (false, None::<String>);
    for line in text.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            inside = line.trim_end() == "Resources:";
            current = None;
            continue;
        }
        if !inside || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 2 && line.trim_end().ends_with(':') {
            let name = line.trim().trim_end_matches(':').to_owned();
            resources.insert(name.clone(), (String::new(), Vec::new()));
            current = Some(name);
        } else if let Some(name) = &current {
            let entry = resources.get_mut(name).expect("inserted");
            if indent == 4 && line.trim().starts_with("Type:") {
                entry.0 = line.trim()["Type:".len()..].trim().to_owned();
            }
            entry.1.push(line.to_owned());
        }
    }
    assert!(resources.contains_key("ContactsTable"), "the Resources section was read");
    resources
}

/// The functions' names, as the `function` dimension has them: the folders of functions/.
fn function_names() -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(root().join("functions")).expect("functions/").map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// One metric an alarm or a widget reads: where it is, its namespace and name, its dimensions.
#[derive(Debug)]
struct Watched {
    at: String,
    namespace: String,
    name: String,
    dimensions: Vec<(String, String)>,
}

/// The namespace as the template writes the metrics' own: `!Ref MetricsNamespace` in an alarm,
/// `${MetricsNamespace}` in the dashboard's `!Sub`.
const OURS: &str = "!Ref MetricsNamespace";

/// A service's dimensions, each with the type of resource it must name (`None`: a fixed value,
/// as the HTTP API's `$default` stage).
type Dimensions = &'static [(&'static str, Option<&'static str>)];

/// The AWS services' metrics the template may watch, and their dimensions.
fn aws_metrics(namespace: &str) -> Option<(&'static [&'static str], Dimensions)> {
    Some(match namespace {
        "AWS/Lambda" => {
            (&["Errors", "Throttles", "IteratorAge", "Duration", "Invocations", "ConcurrentExecutions"], &[("FunctionName", Some("AWS::Serverless::Function"))])
        }
        "AWS/ApiGateway" => (&["5xx", "4xx", "Count", "Latency", "IntegrationLatency"], &[("ApiId", Some("AWS::Serverless::HttpApi")), ("Stage", None)]),
        "AWS/DynamoDB" => (&["ReadThrottleEvents", "WriteThrottleEvents", "SystemErrors", "UserErrors"], &[("TableName", Some("AWS::DynamoDB::Table"))]),
        "AWS/SQS" => (&["ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"], &[("QueueName", Some("AWS::SQS::Queue"))]),
        // Account-wide, without dimensions: the account MailFrom's identity sends from.
        "AWS/SES" => (&["Reputation.BounceRate", "Reputation.ComplaintRate"], &[]),
        _ => return None,
    })
}

/// The resource a dimension's value names: `!Ref Name`, `!GetAtt Name.Attribute`.
fn named_resource(value: &str) -> Option<&str> {
    value.strip_prefix("!Ref ").or_else(|| value.strip_prefix("!GetAtt ").and_then(|v| v.split('.').next())).map(str::trim)
}

fn check(watched: &Watched, resources: &BTreeMap<String, (String, Vec<String>)>, functions: &[String]) {
    let at = &watched.at;
    if watched.namespace == OURS {
        let metric = Metric::ALL.into_iter().find(|m| m.name() == watched.name).unwrap_or_else(|| panic!("{at}: the code emits no metric {}", watched.name));
        let names: Vec<&str> = watched.dimensions.iter().map(|(name, _)| name.as_str()).collect();
        assert!(metric.dimensions().contains(&names.as_slice()), "{at}: {} is emitted by {:?}, not by {names:?}", watched.name, metric.dimensions());
        let function = &watched.dimensions.iter().find(|(name, _)| name == FUNCTION).expect("every set has the function").1;
        assert!(functions.contains(function), "{at}: no function {function} emits {} (functions/ has {functions:?})", watched.name);
        return;
    }
    let (metrics, dimensions) = aws_metrics(&watched.namespace)
        .unwrap_or_else(|| panic!("{at}: a namespace nothing of ours or of the template's resources publishes: {}", watched.namespace));
    assert!(metrics.contains(&watched.name.as_str()), "{at}: {} does not publish {}", watched.namespace, watched.name);
    assert_eq!(watched.dimensions.len(), dimensions.len(), "{at}: {} of {} is by {dimensions:?}: {:?}", watched.name, watched.namespace, watched.dimensions);
    for (name, value) in &watched.dimensions {
        let (_, kind) = dimensions.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{at}: {} has no dimension {name}", watched.namespace));
        match kind {
            Some(kind) => {
                let resource = named_resource(value).unwrap_or_else(|| panic!("{at}: {name} must name a resource of the template, not {value:?}"));
                let (actual, _) = resources.get(resource).unwrap_or_else(|| panic!("{at}: {name} names {resource}, which the template does not define"));
                assert_eq!(actual, kind, "{at}: {name} names {resource}, a {actual}");
            }
            None => assert_eq!(value, "$default", "{at}: the HTTP API's only stage is $default"),
        }
    }
}

/// The metrics of every alarm: a `Namespace:` line, then its `MetricName:` and `- Name:` /
/// `Value:` dimension lines, up to the next `Namespace:`.
fn alarm_metrics(resources: &BTreeMap<String, (String, Vec<String>)>) -> BTreeMap<String, Vec<Watched>> {
    let mut alarms = BTreeMap::new();
    for (name, (kind, lines)) in resources {
        if kind != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let mut watched: Vec<Watched> = Vec::new();
        let mut dimension: Option<String> = None;
        for line in lines.iter().map(|l| l.trim().trim_start_matches("- ")) {
            let value = |key: &str| line.strip_prefix(key).map(|v| v.trim().trim_matches('"').to_owned());
            if let Some(namespace) = value("Namespace:") {
                watched.push(Watched { at: name.clone(), namespace, name: String::new(), dimensions: Vec::new() });
            } else if let Some(metric) = value("MetricName:") {
                let last = watched.last_mut().unwrap_or_else(|| panic!("{name}: a MetricName with no Namespace before it"));
                assert!(last.name.is_empty(), "{name}: two MetricName lines after one Namespace");
                last.name = metric;
            } else if let Some(dimension_name) = value("Name:") {
                dimension = Some(dimension_name);
            } else if let (Some(v), Some(d)) = (value("Value:"), dimension.take()) {
                watched.last_mut().unwrap_or_else(|| panic!("{name}: a dimension outside a metric")).dimensions.push((d, v));
            }
        }
        assert!(!watched.is_empty() && watched.iter().all(|w| !w.name.is_empty()), "{name}: every alarm watches a named metric: {watched:?}");
        let text = lines.join("\n");
        for actions in ["AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn]", "OKActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn]"] {
            assert!(text.contains(actions), "{name} notifies AlarmTopicArn when it fires and clears");
        }
        alarms.insert(name.clone(), watched);
    }
    alarms
}

/// The dashboard's metrics: its body (a `!Sub` of JSON) with each `${...}` read as the template
/// means it, then every widget's `metrics` rows: `[namespace, name, (dimension, value)..., {options}]`.
fn dashboard_metrics(resources: &BTreeMap<String, (String, Vec<String>)>) -> Vec<Watched> {
    let (_, (_, lines)) = resources.iter().find(|(_, (kind, _))| kind == "AWS::CloudWatch::Dashboard").expect("a dashboard in the template");
    let start = lines.iter().position(|l| l.trim() == "DashboardBody: !Sub |").expect("DashboardBody: !Sub |") + 1;
    let body: String = lines[start..].iter().map(|l| format!("{l}\n")).collect();
    let mut json = String::new();
    let mut rest = body.as_str();
    while let Some(open) = rest.find("${") {
        json.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').expect("a closed ${...}");
        let inner = &rest[open + 2..close];
        json.push_str(&match inner {
            "MetricsNamespace" => OURS.to_owned(),
            _ if inner.starts_with("AWS::") => "pseudo".to_owned(),
            _ if inner.contains('.') => format!("!GetAtt {inner}"),
            _ => format!("!Ref {inner}"),
        });
        rest = &rest[close + 1..];
    }
    json.push_str(rest);
    let body: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("the dashboard's body is not JSON: {e}"));
    let mut watched = Vec::new();
    for widget in body["widgets"].as_array().expect("widgets") {
        let Some(rows) = widget["properties"]["metrics"].as_array() else { continue };
        let at = format!("the dashboard's {:?}", widget["properties"]["title"].as_str().unwrap_or_default());
        for row in rows {
            let parts: Vec<&str> = row.as_array().expect("a metric row").iter().filter_map(Value::as_str).collect();
            assert!(parts.len() >= 2 && parts.len().is_multiple_of(2) && !parts[0].is_empty() && parts[0] != ".", "{at}: a row spelled out in full: {row}");
            let dimensions = parts[2..].chunks(2).map(|pair| (pair[0].to_owned(), pair[1].to_owned())).collect();
            watched.push(Watched { at: at.clone(), namespace: parts[0].to_owned(), name: parts[1].to_owned(), dimensions });
        }
    }
    watched
}

#[test]
fn every_alarm_watches_a_metric_the_code_emits_or_an_aws_metric_of_a_resource_of_the_template() {
    let (resources, functions) = (resources(), function_names());
    let alarms = alarm_metrics(&resources);
    for metric in alarms.values().flatten() {
        check(metric, &resources, &functions);
    }
    // What the issue asks for is there.
    for expected in [
        "Api5xxAlarm",
        "MailerDeadLetterAlarm",
        "MailerIteratorAgeAlarm",
        "SesBounceRateAlarm",
        "SesComplaintRateAlarm",
        "TableThrottlesAlarm",
        "NoCompletedChangesAlarm",
    ] {
        assert!(alarms.contains_key(expected), "no {expected}");
    }
    for (resource, (kind, _)) in &resources {
        if kind == "AWS::Serverless::Function" {
            for metric in ["Errors", "Throttles"] {
                let watches = alarms.values().flatten().any(|w| w.name == metric && w.dimensions.iter().any(|(_, v)| named_resource(v) == Some(resource)));
                assert!(watches, "no alarm on the {metric} of {resource}");
            }
        }
    }
}

#[test]
fn every_widget_of_the_dashboard_shows_a_metric_the_code_emits_or_an_aws_metric_of_a_resource_of_the_template() {
    let (resources, functions) = (resources(), function_names());
    let watched = dashboard_metrics(&resources);
    for metric in &watched {
        check(metric, &resources, &functions);
    }
    // Latency per function: every function's.
    let mut latency: Vec<String> = watched.iter().filter(|w| w.name == Metric::Latency.name()).map(|w| w.dimensions[0].1.clone()).collect();
    latency.sort();
    latency.dedup();
    assert_eq!(latency, functions, "the latency widgets show every function");
    // The funnel: every outcome.
    for outcome in Metric::OUTCOMES {
        assert!(watched.iter().any(|w| w.name == outcome.name()), "the dashboard shows no {}", outcome.name());
    }
}

#[test]
fn the_check_refuses_a_metric_nobody_emits() {
    let (resources, functions) = (resources(), function_names());
    let refused = |watched: Watched| std::panic::catch_unwind(|| check(&watched, &resources, &functions)).is_err();
    let ours = |name: &str, dimensions: &[(&str, &str)]| Watched {
        at: "a test".to_owned(),
        namespace: OURS.to_owned(),
        name: name.to_owned(),
        dimensions: dimensions.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
    };
    assert!(!refused(ours("ChangesDone", &[("function", "confirm")])));
    assert!(refused(ours("ChangesCompleted", &[("function", "confirm")])), "a name the code does not emit");
    assert!(refused(ours("ChangesDone", &[("function", "nobody")])), "a function that does not exist");
    assert!(refused(ours("ChangesDone", &[("function", "confirm"), ("reason", "x")])), "a dimension set the code does not emit it with");
    let lambda = |value: &str| Watched {
        at: "a test".to_owned(),
        namespace: "AWS/Lambda".to_owned(),
        name: "Errors".to_owned(),
        dimensions: vec![("FunctionName".to_owned(), value.to_owned())],
    };
    assert!(!refused(lambda("!Ref ReadFunction")));
    assert!(refused(lambda("!Ref ContactsTable")), "not a function");
    assert!(refused(lambda("!Ref GoneFunction")), "not in the template");
    assert!(refused(lambda("contacts-read")), "a literal name");
}
