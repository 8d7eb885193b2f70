//! `contacts-local --port 3000 [--fixtures FILE]`: see the crate's documentation and SPEC §6.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use contacts_api::Router;
use contacts_app::App;
use contacts_app::config::Config;
use contacts_app::ports::SystemClock;
use contacts_app::seed::Fixtures;
use contacts_local::{Backends, DELIVERY_INTERVAL, Local, deliver_every, serve, sweep_every};
use tokio::net::TcpSocket;

const USAGE: &str = "usage: contacts-local [--port N] [--fixtures FILE]

Serves every route of service-contacts on 127.0.0.1, on an embedded store and an outbox.
Configuration comes from the environment: TOKEN_TTL_SECONDS, RESEND_COOLDOWN_SECONDS,
RESEND_LIMIT, UNACCEPTED_REQUEST_LIMIT, REMINDER_BEFORE_SECONDS, RETENTION_SECONDS (how long
what closed is kept), SWEEP_INTERVAL_SECONDS (how often it sweeps expiry and reminders in
process), PUBLIC_BASE_URL, MAIL_FROM (README: Configuration).
With TABLE_NAME and AWS_ENDPOINT_URL_DYNAMODB set, it keeps its data in that DynamoDB table
(creating it when missing); with AWS_ENDPOINT_URL_SESV2 set, it sends its mail through SES.
With JWT_ISSUER and JWT_AUDIENCE set, a bearer token must be a JWT of that issuer (its keys from
its discovery document; the account in ACCOUNT_CLAIM, default sub; one of PANEL_SCOPE's scopes
but openid in its scope, if set), verified as API Gateway's JWT authorizer does, and the
development identity (Bearer <account-id>) is off. The panel then signs in at that issuer, its
endpoints from the same discovery document.";

struct Args {
    port: u16,
    fixtures: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { port: 3000, fixtures: None };
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--port" => {
                let value = iter.next().ok_or("--port needs a number")?;
                args.port = value.parse().map_err(|_| format!("--port needs a number, not {value:?}"))?;
            }
            "--fixtures" => args.fixtures = Some(iter.next().ok_or("--fixtures needs a file")?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into())).init();
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("contacts-local: {message}");
            }
            eprintln!("{USAGE}");
            return if message.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("contacts-local: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Loads, then listens: the port is taken at once (so the mailed links can name it) but refuses
/// connections until every fixture is in, so whatever waits for the port waits for readiness.
async fn run(args: Args) -> Result<(), String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let socket = TcpSocket::new_v4().and_then(|socket| socket.bind(address).map(|()| socket)).map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let base = format!("http://{}", socket.local_addr().map_err(|e| e.to_string())?);
    // Without PUBLIC_BASE_URL, the emailed links open this very server.
    let mut config = Config::from_env_serving_at(&base).map_err(|e| e.to_string())?;
    // This server stands in for the provider's systems at /_local/... (it has no IAM): the one
    // principal its internal API admits is itself.
    config.provider_principals = vec![contacts_local::LOCAL_PROVIDER.to_owned()];
    let fixtures = match &args.fixtures {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            Fixtures::parse_any(&text).map_err(|e| format!("{path} is not valid fixtures: {e}"))?
        }
        None => Fixtures::demo(),
    };
    let sign_in = match contacts_local::jwt::JwtSettings::from_env(|name| std::env::var(name).ok(), &config.account_claim)? {
        Some(settings) => {
            let scopes = std::env::var("PANEL_SCOPE").unwrap_or_default();
            Some(Arc::new(contacts_local::jwt::Verifier::new(settings)?.with_required_scopes(&scopes)))
        }
        None => None,
    };
    let Backends { store, mailer, outbox, description } = Backends::new(&config.aws, config.retention).await?;
    // The provider's event bus, in the process: GET /_local/events shows what it got.
    let events = Arc::new(contacts_app::memory::EventLog::new());
    let app = App::new(store, mailer, Arc::new(SystemClock), config).with_publisher(events.clone());
    fixtures.load(&app).await.map_err(|e| format!("loading fixtures: {e}"))?;

    // Listening before the banner says so: whoever reads it can connect at once.
    let listener = socket.listen(1024).map_err(|e| format!("cannot listen on {base}: {e}"))?;
    let description = match &sign_in {
        Some(verifier) => {
            let settings = verifier.settings();
            format!(
                "{description}\nSign-in: JWTs of {} for {} (account in `{}`); the development identity is off.",
                settings.issuer,
                settings.audiences.join(", "),
                settings.account_claim
            )
        }
        None => description,
    };
    banner(&base, args.fixtures.is_none(), &fixtures, &description);
    let interval = app.config().sweep_interval.unsigned_abs();
    let sweeper = sweep_every(app.clone(), interval);
    let mailer = deliver_every(app.clone(), DELIVERY_INTERVAL);
    // The panel reads the issuer's discovery document for its endpoints and its page's CSP.
    let router = Router::new(app).with_discovery(Arc::new(contacts_aws::https_json::HttpsJson::new()));
    let local = Local { router, outbox, events: Some(events), sign_in };
    tokio::select! {
        () = serve(listener, local) => Ok(()),
        () = sweeper => Ok(()),
        () = mailer => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

fn banner(base: &str, demo: bool, fixtures: &Fixtures, backends: &str) {
    eprintln!(
        "
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  DEVELOPMENT SERVER. Identity is whatever `Authorization: Bearer <account-id>`  !!
!!  says, with no check at all. Never expose it beyond this machine.               !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!

contacts-local listening on {base}: {} accounts, {} services loaded.
{backends}
The control panel: open {base}/ in a browser and sign in with a customer ID (no password here).
Mails sent so far (with the outbox): curl -s {base}/_local/outbox
Events the provider's systems got: curl -s {base}/_local/events
The provider's systems (the internal API, unauthenticated here): PUT {base}/_local/accounts/<id>
and PUT {base}/_local/services/<name>, in the fixtures' shape; DELETE {base}/_local/accounts/<id>
erases an account no role or pending request needs.",
        fixtures.accounts.len(),
        fixtures.services.len()
    );
    if demo {
        eprintln!(
            "
Demo data: example.com has admin ad1000-ovh (Ada), tech te2000-ovh (Teo), billing bi3000-ovh (Bea);
ne4000-ovh (Ned) holds no role. In the panel ({base}/), sign in as ad1000-ovh, edit example.com's
contacts, then confirm with the codes from the outbox (Ned in a private window). Or with curl:
  curl -s {base}/v1/me/services -H 'Authorization: Bearer ad1000-ovh'
  curl -s -X POST {base}/v1/services/example.com/contact-changes \\
       -H 'Authorization: Bearer ad1000-ovh' -d '{{\"tech\": \"ne4000-ovh\"}}'
  curl -s {base}/_local/outbox     # the confirmation mails, with their links and tokens
  curl -s -X POST {base}/v1/contact-changes/<id>/accept \\
       -H 'Authorization: Bearer ad1000-ovh' -d '{{\"token\": \"<Ada's token>\"}}'
Or open a mail's link in a browser."
        );
    }
}
