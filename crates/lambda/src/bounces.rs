//! SES v2's configuration-set events, as EventBridge delivers them from the default bus
//! (`source` `aws.ses`, `detail-type` "Email Bounced" or "Email Complaint Received"), to the
//! use case that marks an address bouncing ([`App::bounced`]).
//!
//! The account comes from the mail's `account` tag (`detail.mail.tags`, set by
//! the SES mailer on every mail), the address from the bounced or complained-about
//! recipients: no Scan, and the store marks the account only if that is still its address.

use std::collections::HashMap;

use serde::Deserialize;

use contacts_app::mail::ACCOUNT_TAG;
use contacts_app::{App, Bounce, Error};
use contacts_domain::{AccountId, EmailAddress};

/// The parts of the EventBridge event that matter here; everything else is ignored.
#[derive(Debug, Deserialize)]
pub struct SesEvent {
    #[serde(rename = "detail-type", default)]
    pub detail_type: String,
    pub detail: Detail,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    pub event_type: String,
    pub mail: MailDetail,
    pub bounce: Option<BounceDetail>,
    pub complaint: Option<ComplaintDetail>,
}

#[derive(Debug, Deserialize)]
pub struct MailDetail {
    #[serde(default)]
    pub tags: HashMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BounceDetail {
    pub bounce_type: String,
    #[serde(default)]
    pub bounced_recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplaintDetail {
    #[serde(default)]
    pub complained_recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub email_address: String,
}

/// What one event reported: the account it names, the kind of bounce, the addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    pub account: AccountId,
    pub bounce: Bounce,
    pub addresses: Vec<EmailAddress>,
}

impl SesEvent {
    /// The bounce this event reports, or why it reports none that this service acts on
    /// (another event type, no `account` tag, no address).
    pub fn reported(&self) -> Result<Reported, String> {
        let detail = &self.detail;
        let (bounce, recipients) = match (detail.event_type.as_str(), &detail.bounce, &detail.complaint) {
            ("Bounce", Some(b), _) if b.bounce_type == "Permanent" => (Bounce::Permanent, &b.bounced_recipients),
            ("Bounce", Some(b), _) => (Bounce::Transient, &b.bounced_recipients),
            ("Complaint", _, Some(c)) => (Bounce::Complaint, &c.complained_recipients),
            (other, _, _) => return Err(format!("a {other:?} event ({:?}) is not a bounce or a complaint", self.detail_type)),
        };
        let tag = detail.mail.tags.get(ACCOUNT_TAG).and_then(|values| values.first()).ok_or("the mail has no account tag")?;
        let account = AccountId::parse(tag).map_err(|e| e.to_string())?;
        let addresses: Vec<EmailAddress> = recipients.iter().filter_map(|r| EmailAddress::parse(&r.email_address).ok()).collect();
        if addresses.is_empty() {
            return Err("the event names no valid recipient address".to_owned());
        }
        Ok(Reported { account, bounce, addresses })
    }
}

/// Hands one event to the use case: how many addresses it marked. An event this service
/// does not act on is logged and answered `Ok(0)` (retrying it would change nothing); a
/// store failure is an error, so that Lambda's asynchronous invocation tries again.
pub async fn handle(app: &App, event: serde_json::Value) -> Result<usize, Error> {
    let event: SesEvent = match serde_json::from_value(event) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "not an SES event of a configuration set: ignored");
            return Ok(0);
        }
    };
    let reported = match event.reported() {
        Ok(reported) => reported,
        Err(why) => {
            tracing::warn!(why, "an SES event ignored");
            return Ok(0);
        }
    };
    let mut marked = 0;
    for address in &reported.addresses {
        if app.bounced(&reported.account, address, reported.bounce).await? {
            marked += 1;
        }
    }
    Ok(marked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> serde_json::Value {
        serde_json::from_str(include_str!("../../../events/bounces.ses-bounce.json")).unwrap()
    }

    #[test]
    fn the_sample_bounce_names_the_tagged_account_and_the_bounced_address() {
        let event: SesEvent = serde_json::from_value(event()).unwrap();
        let reported = event.reported().unwrap();
        assert_eq!(reported.account.as_str(), "ne4000-ovh");
        assert_eq!(reported.bounce, Bounce::Permanent);
        assert_eq!(reported.addresses, vec![EmailAddress::parse("ned@example.com").unwrap()]);
    }

    #[test]
    fn a_transient_bounce_does_not_mark_a_complaint_does_and_a_delivery_is_no_bounce() {
        let mut transient = event();
        transient["detail"]["bounce"]["bounceType"] = "Transient".into();
        let reported = serde_json::from_value::<SesEvent>(transient).unwrap().reported().unwrap();
        assert!(!reported.bounce.marks());

        let mut complaint = event();
        complaint["detail-type"] = "Email Complaint Received".into();
        complaint["detail"]["eventType"] = "Complaint".into();
        complaint["detail"]["complaint"] = serde_json::json!({"complainedRecipients": [{"emailAddress": "ned@example.com"}], "complaintFeedbackType": "abuse"});
        let reported = serde_json::from_value::<SesEvent>(complaint).unwrap().reported().unwrap();
        assert_eq!(reported.bounce, Bounce::Complaint);
        assert!(reported.bounce.marks());

        let mut delivery = event();
        delivery["detail"]["eventType"] = "Delivery".into();
        assert!(serde_json::from_value::<SesEvent>(delivery).unwrap().reported().is_err());

        let mut untagged = event();
        untagged["detail"]["mail"]["tags"] = serde_json::json!({"ses:configuration-set": ["service-contacts"]});
        assert!(serde_json::from_value::<SesEvent>(untagged).unwrap().reported().is_err());
    }
}
