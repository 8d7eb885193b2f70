//! What the API returns of batches (SPEC §7), built from domain values: as the views of
//! requests, nothing of storage (tokens, versions) appears.

use std::collections::HashMap;

use serde::Serialize;
use time::OffsetDateTime;

use super::cursor;
use super::problem;
use super::views::{Named, NamedParty};
use contacts_app::{BatchCreated, BatchView};
use contacts_domain::Decision;
use contacts_domain::FailReason;
use contacts_domain::{Account, AccountId, Batch, BatchId, BatchState, HistoryEntry, Part, PartyStatus, RequestId, Roles, ServiceName, State};

#[derive(Serialize)]
struct PartyBody<'a> {
    account: &'a AccountId,
    status: PartyStatus,
}

#[derive(Serialize)]
struct PartBody<'a> {
    service: &'a ServiceName,
    request: RequestId,
    state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<FailReason>,
}

/// A batch as the API shows it to one caller: the parts it may see.
#[derive(Serialize)]
pub(super) struct BatchBody<'a> {
    id: BatchId,
    services: Vec<&'a ServiceName>,
    roles: &'a Roles,
    /// The previous holder, when every part shown had the same one.
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a AccountId>,
    to: &'a AccountId,
    requested_by: &'a AccountId,
    state: BatchState,
    parties: Vec<PartyBody<'a>>,
    /// The parties still awaited while the batch is pending.
    awaiting: Vec<&'a AccountId>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    closed_at: Option<OffsetDateTime>,
    parts: Vec<PartBody<'a>>,
    history: &'a [HistoryEntry],
}

fn batch_body<'a>(batch: &'a Batch, parts: &'a [Part]) -> BatchBody<'a> {
    let from = parts.first().map(|part| &part.from).filter(|first| parts.iter().all(|part| &part.from == *first));
    BatchBody {
        id: batch.id,
        services: parts.iter().map(|part| &part.service).collect(),
        roles: &batch.roles,
        from,
        to: &batch.to,
        requested_by: &batch.requested_by,
        state: batch.state,
        parties: batch.parties.iter().map(|p| PartyBody { account: &p.account, status: p.status }).collect(),
        awaiting: if batch.state == BatchState::Pending { batch.awaiting().collect() } else { vec![] },
        created_at: batch.created_at,
        expires_at: batch.expires_at,
        closed_at: batch.closed_at,
        parts: parts.iter().map(|part| PartBody { service: &part.service, request: part.request, state: part.state, reason: part.reason }).collect(),
        history: &batch.history,
    }
}

/// The batch as one caller may see it.
pub(super) fn batch(view: &BatchView) -> BatchBody<'_> {
    batch_body(&view.batch, &view.parts)
}

/// The batch whole: its requester's, or any of its parties' (who see every part).
pub(super) fn whole(batch: &Batch) -> BatchBody<'_> {
    batch_body(batch, &batch.parts)
}

#[derive(Serialize)]
pub(super) struct Batches<'a> {
    batches: Vec<BatchBody<'a>>,
    next_cursor: Option<String>,
}

/// `GET /v1/me/contact-change-batches`: each batch as the caller may see it (`views`).
pub(super) fn batches(views: &[BatchView], next: Option<BatchId>) -> Batches<'_> {
    Batches { batches: views.iter().map(batch).collect(), next_cursor: next.map(cursor::batch) }
}

/// One service asked for: its part's request, or the problem that kept it out.
#[derive(Serialize)]
struct ServiceAnswerBody<'a> {
    service: &'a ServiceName,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<RequestId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<serde_json::Value>,
}

#[derive(Serialize)]
pub(super) struct Created<'a> {
    batch: BatchBody<'a>,
    parts: Vec<ServiceAnswerBody<'a>>,
}

/// `201`: the batch, and for every service asked its part or its problem (a problem
/// document, as the error a single request for it would have answered).
pub(super) fn created(created: &BatchCreated) -> Created<'_> {
    let parts = created
        .answers
        .iter()
        .map(|answer| match &answer.outcome {
            Ok(request) => ServiceAnswerBody { service: &answer.service, request: Some(*request), problem: None },
            Err(error) => {
                let problem = problem::app_document(error);
                ServiceAnswerBody { service: &answer.service, request: None, problem: Some(problem) }
            }
        })
        .collect();
    Created { batch: whole(&created.batch), parts }
}

/// `POST /confirm/batch/{id}/details`: who the batch involves, for a holder of a live code.
#[derive(Serialize)]
pub(super) struct ConfirmationDetails<'a> {
    id: BatchId,
    to: Named<'a>,
    requested_by: Named<'a>,
    parties: Vec<NamedParty<'a>>,
    /// The previous holders, each once.
    previous: Vec<Named<'a>>,
}

pub(super) fn confirmation_details<'a>(batch: &'a Batch, accounts: &'a HashMap<AccountId, Account>) -> ConfirmationDetails<'a> {
    let named = |account: &'a AccountId| Named { account, name: accounts.get(account).map(|a| a.name.as_str()) };
    let mut previous: Vec<&AccountId> = batch.parts.iter().map(|part| &part.from).collect();
    previous.sort();
    previous.dedup();
    ConfirmationDetails {
        id: batch.id,
        to: named(&batch.to),
        requested_by: named(&batch.requested_by),
        parties: batch.parties.iter().map(|p| NamedParty { named: named(&p.account), status: p.status }).collect(),
        previous: previous.into_iter().map(named).collect(),
    }
}
