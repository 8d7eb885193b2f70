//! The routes of SPEC §7: asking for a batch, reading and answering it, and its emailed
//! link's page. Each handler only parses, calls the use case and shapes the answer.

use http::StatusCode;

use super::{ApiError, ApiResponse, Call, Router, batch_views, bodies, cursor, json, ok, page};
use contacts_app::{Answerer, Decision};

impl Router {
    pub(super) async fn batches(&self, endpoint: super::Endpoint, call: &Call<'_>) -> Result<ApiResponse, ApiError> {
        use super::Endpoint::*;
        let app = &self.app;
        match endpoint {
            CreateBatch => {
                let (services, asks) = bodies::contact_change_batch(call.request)?;
                let created = app.create_batch(&call.caller()?, services, asks).await?;
                json(StatusCode::CREATED, &batch_views::created(&created))
            }
            ListMyBatches => {
                let state = bodies::batch_state_filter(call.query("state")?.as_deref())?;
                let before = cursor::decode_batch(call.query("cursor")?.as_deref())?;
                let (views, next) = app.my_batches(&call.caller()?, state, before).await?;
                ok(&batch_views::batches(&views, next))
            }
            GetBatch => ok(&batch_views::batch(&app.batch(&call.caller()?, call.batch_id()?).await?)),
            AcceptBatch | RefuseBatch => {
                let decision = if endpoint == AcceptBatch { Decision::Accept } else { Decision::Refuse };
                let (id, token, caller) = (call.batch_id()?, bodies::token(call.request)?, call.caller()?);
                ok(&batch_views::whole(&app.answer_batch(id, &token, decision, Answerer::Caller(&caller)).await?))
            }
            ResendBatch => {
                bodies::nothing(call.request)?;
                json(StatusCode::ACCEPTED, &batch_views::whole(&app.resend_batch(&call.caller()?, call.batch_id()?).await?))
            }
            CancelBatch => {
                bodies::nothing(call.request)?;
                ok(&batch_views::whole(&app.cancel_batch(&call.caller()?, call.batch_id()?).await?))
            }
            BatchConfirmPage => {
                let answered = bodies::decision(call.query("answered")?.as_deref())?;
                Ok(page::batch(&app.batch_confirmation(call.batch_id()?).await?, answered))
            }
            BatchConfirmDecision => {
                let (id, (token, decision)) = (call.batch_id()?, bodies::confirm_form(call.request)?);
                app.answer_batch(id, &token, decision, Answerer::LinkHolder { from: call.request.source }).await?;
                Ok(page::see_outcome(&id.to_string(), decision))
            }
            BatchConfirmDetails => {
                let (id, token) = (call.batch_id()?, bodies::confirm_details_form(call.request)?);
                let (batch, accounts) = app.batch_confirmation_details(id, &token, call.request.source).await?;
                ok(&batch_views::confirmation_details(&batch, &accounts))
            }
            _ => unreachable!("{endpoint:?} is not a route of this group"),
        }
    }
}
