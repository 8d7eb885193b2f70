//! `contacts-admin export`: the table's accounts and services as JSON Lines, the format
//! `import` reads, a page of the scan at a time.

use std::io::Write;

use shared::adapters::dynamodb::bulk::Bulk;
use shared::fixtures::Record;
use shared::ports::StoreError;

use crate::progress::Progress;

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

/// Writes every account and service of the table to `out`, one JSON line each, in the
/// table's order (which is no order: `import` does not need one).
pub async fn export(bulk: &Bulk, out: &mut impl Write, progress: &Progress) -> Result<ExportReport, ExportError> {
    progress.start("exported", None);
    let mut report = ExportReport::default();
    let mut cursor = None;
    loop {
        let page = bulk.export_page(cursor).await.map_err(ExportError::Store)?;
        for record in &page.records {
            match record {
                Record::Account(_) => report.accounts += 1,
                Record::Service(_) => report.services += 1,
            }
            writeln!(out, "{}", record.to_line()).map_err(ExportError::Write)?;
        }
        progress.advance(page.records.len() as u64);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    out.flush().map_err(ExportError::Write)?;
    progress.finish();
    Ok(report)
}
