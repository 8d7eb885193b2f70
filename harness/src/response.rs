//! The function's HTTP response, from the API Gateway (HTTP API, payload 2.0) response that
//! the RIE passes on as its invocation's answer.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::http::Answer;

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// By lower-case name.
    pub headers: HashMap<String, String>,
    /// Decoded when the function sent it as base64 (`isBase64Encoded`).
    pub body: String,
}

impl Response {
    /// The response in the RIE's answer to an invocation; why there is none (the invocation
    /// failed, or the function did not answer as an HTTP API function) otherwise.
    pub fn from_invocation(answer: &Answer) -> Result<Response, String> {
        let text = || String::from_utf8_lossy(&answer.body).into_owned();
        if answer.status != 200 {
            return Err(format!("the invocation itself failed ({}): {}", answer.status, text()));
        }
        let raw: Value = serde_json::from_slice(&answer.body).map_err(|e| format!("the RIE's answer is not JSON ({e}): {}", text()))?;
        let Some(status) = raw["statusCode"].as_u64() else {
            return Err(format!("not an HTTP API response (did the function fail?): {raw}"));
        };
        let body = raw["body"].as_str().unwrap_or_default();
        let body = if raw["isBase64Encoded"] == true {
            String::from_utf8_lossy(&STANDARD.decode(body).map_err(|e| format!("a body that is not base64 ({e}): {raw}"))?).into_owned()
        } else {
            body.to_owned()
        };
        let headers = raw["headers"]
            .as_object()
            .map(|h| h.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or_default().to_owned())).collect())
            .unwrap_or_default();
        Ok(Response { status: status as u16, headers, body })
    }

    /// The body as JSON; a panic naming the body if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// The `content-type` header, or "".
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn a_base64_body_is_decoded_and_header_names_are_lower_case() {
        let raw = r#"{"statusCode": 303, "headers": {"Location": "/x", "content-type": "text/html"}, "body": "PHA+aGk8L3A+", "isBase64Encoded": true}"#;
        let response = Response::from_invocation(&answer(200, raw)).unwrap();
        assert_eq!((response.status, response.body.as_str()), (303, "<p>hi</p>"));
        assert_eq!((response.header("location"), response.header("Location"), response.content_type()), (Some("/x"), Some("/x"), "text/html"));
    }

    #[test]
    fn a_failed_invocation_or_a_function_error_is_no_response() {
        assert!(Response::from_invocation(&answer(502, "{}")).unwrap_err().contains("the invocation itself failed"));
        let error = r#"{"errorType": "Runtime.ExitError", "errorMessage": "exit status 101"}"#;
        assert!(Response::from_invocation(&answer(200, error)).unwrap_err().contains("not an HTTP API response"));
    }
}
