//! A readable plan of a scan over one table version: which data files are
//! opened, how many rows they hold, how the filter is pushed down, which
//! columns the column cache already has. Read from the manifest and the
//! cache only; no data is read.

use super::{cache, cache_key, filter, parse_expressions, plan_slices, project, ScanRequest};
use crate::error::{quote, Result};
use crate::format::Snapshot;

/// The plan's lines (without indentation), most important first.
pub fn explain_scan(snap: &Snapshot, req: &ScanRequest, verbose: bool) -> Result<Vec<String>> {
    let schema = &snap.schema;
    let files = &snap.manifest.fragments;
    let mut lines = Vec::new();
    let rows: u64 = files.iter().map(|f| f.rows).sum();
    let deleted: u64 = files
        .iter()
        .filter_map(|f| f.deletion.as_ref().map(|d| d.count))
        .sum();
    let bytes: u64 = files.iter().map(|f| f.size_bytes).sum();
    lines.push(format!(
        "Version {}: {} data file(s), {} rows ({} deleted, skipped at read), {} bytes",
        snap.manifest.version,
        files.len(),
        rows,
        deleted,
        bytes
    ));
    // The table columns the scan reads.
    let (read_cols, computed): (Vec<String>, Option<Vec<String>>) = match &req.expressions {
        Some(exprs) => {
            let (_, needed) = parse_expressions(schema, exprs)?;
            (
                needed,
                Some(
                    exprs
                        .iter()
                        .map(|(a, sql)| format!("{a} := {}", quote(sql)))
                        .collect(),
                ),
            )
        }
        None => {
            let (p, _) = project(schema, &req.columns)?;
            (p.fields().iter().map(|f| f.name().clone()).collect(), None)
        }
    };
    let pred = filter::CompiledFilter::optional(req.filter.as_deref(), schema)?;
    let filter_cols: Vec<String> = pred
        .as_ref()
        .map(|p| p.columns().to_vec())
        .unwrap_or_default();
    match &pred {
        Some(_) => lines.push(format!(
            "Filter pushed down: {} is evaluated per data file on its own column(s) [{}]; only the matching rows of the other columns are read",
            quote(req.filter.as_deref().unwrap_or_default()),
            filter_cols.join(", ")
        )),
        None => lines.push("No filter".into()),
    }
    if let Some(p) = &pred {
        lines.extend(super::scalar::describe(snap, p));
    }
    if let Some(c) = &computed {
        lines.push(format!(
            "Computed columns: {} (reads [{}])",
            c.join(", "),
            read_cols.join(", ")
        ));
    } else {
        lines.push(format!(
            "Columns read: [{}] ({} of {} columns){}",
            read_cols.join(", "),
            read_cols.len(),
            schema.fields().len(),
            if req.with_row_id { " + _rowid" } else { "" }
        ));
    }
    // Which files are opened: an unfiltered scan over files without
    // deletions is planned from the row counts (offset/limit prune files).
    let planned = pred.is_none() && files.iter().all(|f| f.deletion.is_none());
    let opened: Vec<_> = if planned {
        plan_slices(files, req.offset, req.limit)
            .into_iter()
            .map(|s| s.fragment)
            .collect()
    } else {
        files.clone()
    };
    lines.push(format!(
        "Data files opened: {} of {}{}",
        opened.len(),
        files.len(),
        if planned && (req.offset > 0 || req.limit.is_some()) {
            " (offset/limit applied from the manifest's row counts)"
        } else if req.limit.is_some() {
            " at most; reading stops once the limit is reached"
        } else {
            ""
        }
    ));
    // Column cache: which of the needed columns are held per file.
    let mut needed: Vec<usize> = read_cols
        .iter()
        .chain(filter_cols.iter())
        .filter_map(|c| schema.index_of(c).ok())
        .collect();
    needed.sort_unstable();
    needed.dedup();
    let cache = cache::for_store(&snap.store);
    let mut full = 0usize;
    let mut detail = Vec::new();
    for f in &opened {
        let key = cache_key(&snap.store, &snap.dir, f);
        let held: Vec<&str> = needed
            .iter()
            .filter(|i| cache.get(&key, **i).is_some())
            .map(|i| schema.field(*i).name().as_str())
            .collect();
        if held.len() == needed.len() {
            full += 1;
        }
        if verbose {
            detail.push(format!(
                "  {}: {} rows{}, {} bytes, cached columns [{}]",
                f.path,
                f.rows,
                f.deletion
                    .as_ref()
                    .map(|d| format!(" ({} deleted)", d.count))
                    .unwrap_or_default(),
                f.size_bytes,
                held.join(", ")
            ));
        }
    }
    lines.push(format!(
        "Column cache: {} of {} opened file(s) have every needed column cached{}",
        full,
        opened.len(),
        if cache.enabled() {
            ""
        } else {
            " (cache disabled)"
        }
    ));
    lines.extend(detail);
    Ok(lines)
}
