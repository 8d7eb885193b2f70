//! The mails the SES v2 emulator took (`GET $SES_STORE_URL`: every mail it took, from
//! every sender), and the tokens in their links (`...#token=<43 characters>`).

use std::collections::BTreeMap;

use serde_json::Value;

/// A mail as the emulator keeps it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub text: String,
    pub html: String,
}

/// What the SES emulator's store held when read.
#[derive(Debug, Clone)]
pub struct SesStore {
    pub mails: Vec<Mail>,
}

impl SesStore {
    /// Reads the store at `url` (`SES_STORE_URL`).
    pub fn read(url: &str) -> SesStore {
        let answer = crate::http::get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(answer.status, 200, "GET {url}");
        let store: Value = serde_json::from_slice(&answer.body).expect("the SES emulator's store is JSON");
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let mails = store["emails"]
            .as_array()
            .expect("an emails array")
            .iter()
            .map(|email| Mail {
                from: text(&email["from"]),
                to: email["destination"]["to"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect(),
                text: text(&email["body"]["text"]),
                html: text(&email["body"]["html"]),
            })
            .collect();
        SesStore { mails }
    }

    /// The mails about request `id`: those whose text names it.
    pub fn about<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Mail> {
        self.mails.iter().filter(move |mail| mail.text.contains(id))
    }

    /// The tokens mailed for request `id`, by recipient (the last one each got).
    pub fn tokens_about(&self, id: &str) -> BTreeMap<String, String> {
        let mut tokens = BTreeMap::new();
        for mail in self.about(id) {
            if let Some(token) = token_in(&mail.text) {
                for to in &mail.to {
                    tokens.insert(to.clone(), token.clone());
                }
            }
        }
        tokens
    }

    /// The token of the latest mail to `address` that has one.
    pub fn token_to(&self, address: &str) -> Option<String> {
        self.mails.iter().rev().filter(|mail| mail.to.iter().any(|to| to == address)).find_map(|mail| token_in(&mail.text))
    }

    /// Every token in every mail (each `#token=` of a link, in the text or the HTML), sorted.
    pub fn tokens(&self) -> Vec<String> {
        let mut tokens: Vec<String> = Vec::new();
        for part in self.mails.iter().flat_map(|mail| [&mail.text, &mail.html]) {
            let mut rest = part.as_str();
            while let Some(at) = rest.find("#token=") {
                rest = &rest[at..];
                tokens.extend(token_in(rest).filter(|t| !t.is_empty()));
                rest = &rest["#token=".len()..];
            }
        }
        tokens.sort();
        tokens.dedup();
        tokens
    }
}

/// The token of the first link in `text` that carries one (`#token=`).
pub fn token_in(text: &str) -> Option<String> {
    let start = text.find("#token=")? + "#token=".len();
    Some(text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_ends_where_base64url_ends() {
        assert_eq!(token_in("https://x/confirm/01J#token=Ab-_9z. Thanks").as_deref(), Some("Ab-_9z"));
        assert_eq!(token_in("no link here"), None);
    }

    #[test]
    fn the_tokens_of_a_request_are_by_recipient_and_every_token_is_listed_once() {
        let mail = |to: &str, text: &str| Mail { from: "f@x".into(), to: vec![to.into()], text: text.into(), html: format!("<a href=\"{text}\">") };
        let store =
            SesStore { mails: vec![mail("a@x", "r1 #token=one"), mail("b@x", "r1 #token=two"), mail("a@x", "r1 #token=three"), mail("c@x", "r2 #token=four")] };
        let tokens = store.tokens_about("r1");
        assert_eq!((tokens.len(), tokens["a@x"].as_str(), tokens["b@x"].as_str()), (2, "three", "two"), "the last one each got");
        assert_eq!(store.token_to("a@x").as_deref(), Some("three"), "the latest one");
        assert_eq!(store.tokens(), ["four", "one", "three", "two"]);
    }
}
