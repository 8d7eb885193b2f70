//! `contacts-admin export`: the table's accounts and services as JSON Lines, the format
//! `import` reads. A parallel scan: each segment's pages go through a small channel to the one
//! writer, so memory holds a few pages (each at most 1 MB of items) whatever the table's size.

use std::io::Write;

use contacts_app::ports::StoreError;
use contacts_aws::dynamodb::bulk::{Bulk, Segment};
use contacts_domain::Record;
use tokio::sync::mpsc;

use crate::progress::Progress;

/// Segments scanned at once.
pub const SEGMENTS: u32 = 4;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportReport {
    pub accounts: u64,
    pub services: u64,
}

#[derive(Debug)]
pub enum ExportError {
    Store(StoreError),
    Write(std::io::Error),
}

/// Writes every account and service of the table to `out`, one JSON line each, in no
/// particular order (`import` needs none), scanning `segments` segments at once.
pub async fn export(bulk: &Bulk, segments: u32, out: &mut impl Write, progress: &Progress) -> Result<ExportReport, ExportError> {
    progress.start("exported", None);
    let (pages, mut received) = mpsc::channel::<Result<Vec<Record>, StoreError>>(2 * segments.max(1) as usize);
    let mut tasks = tokio::task::JoinSet::new();
    for segment in Segment::all(segments) {
        let (bulk, pages) = (bulk.clone(), pages.clone());
        tasks.spawn(async move {
            let mut cursor = None;
            loop {
                let page = match bulk.export_page(segment, cursor).await {
                    Ok(page) => page,
                    Err(error) => {
                        let _ = pages.send(Err(error)).await;
                        return;
                    }
                };
                if pages.send(Ok(page.records)).await.is_err() {
                    return; // the writer stopped
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => return,
                }
            }
        });
    }
    drop(pages);
    let mut report = ExportReport::default();
    // Dropping `tasks` on an early return stops the other segments.
    while let Some(page) = received.recv().await {
        let records = page.map_err(ExportError::Store)?;
        for record in &records {
            match record {
                Record::Account(_) => report.accounts += 1,
                Record::Service(_) => report.services += 1,
            }
            writeln!(out, "{}", record.to_line()).map_err(ExportError::Write)?;
        }
        progress.advance(records.len() as u64);
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| ExportError::Store(StoreError::Failed(contacts_app::Cause::of(format!("an export task stopped: {e}"), e))))?;
    }
    out.flush().map_err(ExportError::Write)?;
    progress.finish();
    Ok(report)
}
