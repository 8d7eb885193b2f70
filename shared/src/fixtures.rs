//! Accounts and services in the fixtures' shape of SPEC §6, and the demo set the local
//! server starts with.

use serde::Deserialize;

use crate::app::{App, Error};
use crate::domain::{Account, Service};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub services: Vec<Service>,
}

impl Fixtures {
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The demo set: a domain and a VPS, four people, one of them overdue.
    pub fn demo() -> Self {
        Self::parse(DEMO).expect("the demo fixtures are valid")
    }

    /// Loads every account, then every service, into the app's store.
    pub async fn load(&self, app: &App) -> Result<(), Error> {
        for account in &self.accounts {
            app.put_account(account).await?;
        }
        for service in &self.services {
            app.put_service(service).await?;
        }
        Ok(())
    }
}

const DEMO: &str = r#"{
  "accounts": [
    {"id": "ad1000-ovh", "name": "Ada Admin", "email": "ada@example.com", "language": "en", "payment_status": "ok"},
    {"id": "te2000-ovh", "name": "Teo Tecnico", "email": "teo@example.it", "language": "it", "payment_status": "ok"},
    {"id": "bi3000-ovh", "name": "Bea Billing", "email": "bea@example.fr", "language": "fr", "payment_status": "ok"},
    {"id": "ne4000-ovh", "name": "Ned Newcomer", "email": "ned@example.com", "language": "en", "payment_status": "ok"},
    {"id": "ov5000-ovh", "name": "Otto Overdue", "email": "otto@example.com", "language": "en", "payment_status": "overdue"}
  ],
  "services": [
    {"name": "example.com", "admin": "ad1000-ovh", "tech": "te2000-ovh", "billing": "bi3000-ovh"},
    {"name": "vps-42.example.net", "admin": "ad1000-ovh", "tech": "ad1000-ovh", "billing": "ad1000-ovh"}
  ]
}"#;
