//! Every parser of outside input returns a value or an error, never a panic, and what it
//! accepts it gives back unchanged.

#![no_main]

use contacts_app::seed::Fixtures;
use contacts_domain::{AccountId, DisplayName, EmailAddress, RequestId, Role, ServiceName, State, Token};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(id) = AccountId::parse(text) {
        assert_eq!(AccountId::parse(id.as_str()).as_ref(), Ok(&id));
    }
    if let Ok(name) = ServiceName::parse(text) {
        assert_eq!(ServiceName::parse(name.as_str()).as_ref(), Ok(&name));
    }
    if let Ok(id) = RequestId::parse(text) {
        assert_eq!(RequestId::parse(&id.to_string()), Ok(id));
    }
    if let Ok(email) = EmailAddress::parse(text) {
        assert_eq!(EmailAddress::parse(email.as_str()).as_ref(), Ok(&email));
    }
    if let Ok(name) = DisplayName::parse(text) {
        assert_eq!(DisplayName::parse(name.as_str()).as_ref(), Ok(&name));
    }
    if let Ok(role) = Role::parse(text) {
        assert_eq!(Role::parse(role.as_str()).ok(), Some(role));
    }
    if let Some(state) = State::parse(text) {
        assert_eq!(State::parse(state.as_str()), Some(state));
    }
    if let Some(token) = Token::parse(text) {
        assert!(token.hash().matches(&token));
    }
    // The fixtures: one JSON document, or JSON Lines read record by record.
    let _ = Fixtures::parse(text);
    let _ = Fixtures::parse_any(text);
});
