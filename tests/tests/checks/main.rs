//! The checks of the project's own files: the sources, template.yaml, openapi.yaml and the
//! alarms against the code. They start no store and link no AWS SDK, so they are one test
//! binary (one link) rather than one each.

mod alarms_match_metrics;
mod house_rules;
mod openapi_matches_router;
mod routes_match_template;
mod template_parameters;
