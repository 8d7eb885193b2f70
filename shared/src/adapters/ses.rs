//! The `Mailer` on Amazon SES v2: one `SendEmail` per mail, with simple content (subject,
//! text and HTML, UTF-8), `From` = the mail's sender, `To` = its one recipient.

use async_trait::async_trait;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::mail::Mail;
use crate::ports::{MailError, Mailer};

pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// `configuration_set`: the SES configuration set to send through (event publishing,
    /// suppression, dedicated IPs), if any.
    pub fn new(client: aws_sdk_sesv2::Client, configuration_set: Option<String>) -> Self {
        Self { client, configuration_set: configuration_set.filter(|c| !c.is_empty()) }
    }
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder().data(data).charset("UTF-8").build().map_err(|e| MailError::Rejected(format!("SendEmail: {e}")))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = Message::builder().subject(utf8(&mail.subject)?).body(Body::builder().text(utf8(&mail.text)?).html(utf8(&mail.html)?).build()).build();
        self.client
            .send_email()
            .from_email_address(mail.from.as_str())
            .destination(Destination::builder().to_addresses(mail.to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

/// Throttling, timeouts, unreachable endpoints and 5xx may go through later; anything else
/// (a bad address, an unverified sender, a paused account) will not. The message names the
/// error's code and never the mail (whose body may hold a token).
fn classify(error: SdkError<SendEmailError>) -> MailError {
    match &error {
        SdkError::TimeoutError(_) => MailError::Retryable("SendEmail: timed out".to_owned()),
        SdkError::DispatchFailure(failure) => {
            let what = if failure.is_timeout() {
                "timed out"
            } else if failure.is_io() {
                "could not reach SES"
            } else {
                "could not send the request"
            };
            MailError::Retryable(format!("SendEmail: {what}"))
        }
        SdkError::ResponseError(_) => MailError::Retryable("SendEmail: unreadable response".to_owned()),
        SdkError::ServiceError(service) => {
            let err = service.err();
            let status = service.raw().status();
            let code = err.code().unwrap_or("unknown");
            // LimitExceeded is what SES says when a sending quota is used up: later, it is not.
            let retryable = matches!(err, SendEmailError::TooManyRequestsException(_) | SendEmailError::LimitExceededException(_))
                || matches!(code, "Throttling" | "ThrottlingException" | "RequestTimeout" | "RequestTimeoutException")
                || status.as_u16() == 429
                || status.is_server_error();
            let message = format!("SendEmail: {code} (HTTP {})", status.as_u16());
            if retryable { MailError::Retryable(message) } else { MailError::Rejected(message) }
        }
        _ => MailError::Rejected("SendEmail: the request could not be built".to_owned()),
    }
}
