//! Plain tables in the engine ([`crate::table`]): changes under the engine lock and in the
//! WAL, snapshots at flush, and recovery.
//!
//! Each change is checked, appended to the WAL and applied to the tables in memory under the
//! state lock (so a concurrent statement sees it whole or not at all, and unique keys hold
//! across sessions), then waits for the WAL's durability outside the lock, as a write does.
//! A change also marks the active memtable as holding data, so the age trigger and `flush`
//! freeze it and the WAL behind it can be truncated.
//!
//! Freezing a memtable captures the tables as they are at its WAL boundary (a cheap copy:
//! tables are shared until changed). The flush writes that capture to
//! `tables-<boundary>.snap` (temporary file, fsync, rename) before the manifest records the
//! boundary as flushed, and removes older snapshots after. On open, the snapshot named by the
//! manifest's flushed sequence is loaded and the WAL records after it replay onto it; other
//! snapshot files are leftovers and removed. A store without a snapshot has no tables.

use std::sync::Arc;

use super::{Engine, Shared, State};
use crate::binary::{ByteReader, ByteWriter};
use crate::error::{Error, Result};
use crate::table::{RowId, TableChange, TableId, TableRows, Tables, Value};
use crate::table_record::{
    TableRecord, encode_delete, encode_insert, encode_tables, encode_truncate, encode_update,
};
use crate::wal::WalSequence;

const SNAPSHOT_MAGIC: &[u8; 8] = b"RTSTAB01";

impl Engine {
    /// The plain tables and the catalog's bytes as they are now (shared, not copied).
    pub fn tables(&self) -> Tables {
        self.shared.state.lock().tables.clone()
    }

    /// One plain table as it is now.
    pub fn table(&self, id: TableId) -> Option<Arc<TableRows>> {
        self.shared.state.lock().tables.table(id).cloned()
    }

    /// Replaces the catalog's bytes and applies `changes` to the tables, in one WAL record:
    /// both happen or neither. Fails, changing nothing, if a change does not apply (a
    /// unique key over existing duplicates, an unknown table).
    pub fn change_tables(&self, catalog: Vec<u8>, changes: Vec<TableChange>) -> Result<()> {
        self.check_open()?;
        let state = self.shared.lock_for_write()?;
        state.tables.check_changes(&changes)?;
        let record = encode_tables(&catalog, &changes);
        self.shared.log_and_apply(state, &record, |tables| {
            apply_changes(tables, catalog, changes)
        })
    }

    /// Appends rows (each a value per column, in column order) to table `id`; all or none,
    /// after checking types and unique keys. Returns the ids given to the rows.
    pub fn insert_rows(&self, id: TableId, rows: Vec<Vec<Value>>) -> Result<Vec<RowId>> {
        self.check_open()?;
        let state = self.shared.lock_for_write()?;
        let table = state
            .tables
            .table(id)
            .ok_or(Error::UnknownTable { table: id.0 })?;
        table.check_insert(id, &rows)?;
        let added: u64 = rows.iter().map(|row| crate::table::row_bytes(row)).sum();
        let total = self.shared.table_bytes(&state).saturating_add(added);
        let limit = self.shared.options.table_bytes_max;
        if total > limit {
            return Err(Error::LimitExceeded {
                what: "bytes held by plain tables (storage.table_bytes_max)",
                value: total,
                limit,
            });
        }
        let first = table.next_row();
        let width = table.columns().len();
        let record = encode_insert(id, first, width, &rows);
        let count = rows.len() as u64;
        self.shared.log_and_apply(state, &record, |tables| {
            tables.table_mut(id)?.insert(first, rows);
            Ok(())
        })?;
        Ok((first.0..first.0 + count).map(RowId).collect())
    }

    /// Replaces rows of table `id` with new values; all or none, after checking that the
    /// rows exist, the values fit, and unique keys hold. Returns how many rows changed.
    pub fn update_rows(&self, id: TableId, rows: Vec<(RowId, Vec<Value>)>) -> Result<u64> {
        self.check_open()?;
        let state = self.shared.lock_for_write()?;
        let table = state
            .tables
            .table(id)
            .ok_or(Error::UnknownTable { table: id.0 })?;
        table.check_update(id, &rows)?;
        let record = encode_update(id, table.columns().len(), &rows);
        let count = rows.len() as u64;
        self.shared.log_and_apply(state, &record, |tables| {
            tables.table_mut(id)?.update(rows);
            Ok(())
        })?;
        Ok(count)
    }

    /// Removes rows of table `id`; ids no longer there are skipped. Returns how many rows
    /// were removed.
    pub fn delete_rows(&self, id: TableId, rows: &[RowId]) -> Result<u64> {
        self.check_open()?;
        let state = self.shared.lock_for_write()?;
        if state.tables.table(id).is_none() {
            return Err(Error::UnknownTable { table: id.0 });
        }
        let record = encode_delete(id, rows);
        let mut removed = 0;
        self.shared.log_and_apply(state, &record, |tables| {
            removed = tables.table_mut(id)?.delete(rows) as u64;
            Ok(())
        })?;
        Ok(removed)
    }

    /// Removes every row of table `id`.
    pub fn truncate_table(&self, id: TableId) -> Result<()> {
        self.check_open()?;
        let state = self.shared.lock_for_write()?;
        if state.tables.table(id).is_none() {
            return Err(Error::UnknownTable { table: id.0 });
        }
        let record = encode_truncate(id);
        self.shared.log_and_apply(state, &record, |tables| {
            tables.table_mut(id)?.truncate();
            Ok(())
        })
    }
}

fn apply_changes(tables: &mut Tables, catalog: Vec<u8>, changes: Vec<TableChange>) -> Result<()> {
    for change in changes {
        tables.apply_change(change)?;
    }
    tables.catalog = catalog.into();
    Ok(())
}

impl Shared {
    /// Appends `record` to the WAL, applies it to the tables with `apply` (checked
    /// beforehand, so it cannot fail half way), marks the memtable, releases the lock and
    /// waits for the record's durability.
    fn log_and_apply(
        &self,
        mut state: parking_lot::MutexGuard<'_, State>,
        record: &[u8],
        apply: impl FnOnce(&mut Tables) -> Result<()>,
    ) -> Result<()> {
        let sequence = self.wal.append(record)?;
        apply(&mut state.tables)?;
        self.noted(&mut state, record.len())?;
        drop(state);
        self.wal.commit(sequence)
    }

    /// After a table change: the memtable holds data (for the freeze triggers), and a full
    /// memtable is frozen as after a write.
    fn noted(&self, state: &mut State, record_bytes: usize) -> Result<()> {
        state.active.note_other_write(record_bytes as u64);
        if self.memtable_full(state) {
            self.freeze(state)?;
        }
        Ok(())
    }

    fn table_bytes(&self, state: &State) -> u64 {
        state
            .tables
            .tables
            .values()
            .map(|table| table.bytes())
            .sum()
    }

    /// Writes `tables` as the snapshot of WAL position `boundary` (fsynced, atomically).
    pub(crate) fn write_tables_snapshot(
        &self,
        boundary: WalSequence,
        tables: &Tables,
    ) -> Result<()> {
        if tables.is_empty() {
            return Ok(());
        }
        let mut writer = ByteWriter::new();
        writer.raw(SNAPSHOT_MAGIC);
        tables.write(&mut writer);
        let path = self.paths.tables_snapshot(boundary);
        crate::fs::write_atomically(&path, &writer.into_bytes())
    }

    /// Removes snapshot files other than the one of `current`.
    pub(crate) fn remove_old_snapshots(&self, current: WalSequence) {
        for (sequence, path) in self.paths.tables_snapshots() {
            if sequence != current
                && let Err(error) = std::fs::remove_file(&path)
            {
                tracing::warn!(path = %path.display(), error = %error, "removing an old table snapshot");
            }
        }
    }
}

/// The tables as of `flushed`, from its snapshot (none: no tables). Other snapshot files are
/// leftovers of flushes that did not reach the manifest, or of earlier ones; they are removed.
pub(crate) fn load_tables(paths: &super::Paths, flushed: WalSequence) -> Result<Tables> {
    let mut tables = Tables::default();
    for (sequence, path) in paths.tables_snapshots() {
        if sequence != flushed {
            std::fs::remove_file(&path)
                .map_err(Error::io("removing a leftover snapshot", &path))?;
            continue;
        }
        let bytes = std::fs::read(&path).map_err(Error::io("reading the table snapshot", &path))?;
        let corrupt = |reason: String| Error::Corrupt {
            what: "table snapshot",
            path: path.clone(),
            offset: 0,
            reason,
        };
        let body = bytes
            .strip_prefix(SNAPSHOT_MAGIC.as_slice())
            .ok_or_else(|| corrupt("bad magic".to_owned()))?;
        let mut reader = ByteReader::new(body);
        tables = Tables::read(&mut reader).map_err(|error| corrupt(error.0))?;
        if !reader.is_empty() {
            return Err(corrupt("trailing bytes".to_owned()));
        }
    }
    Ok(tables)
}

/// Replays a table record written after the snapshot.
pub(crate) fn replay_table_record(state: &mut State, record: TableRecord) -> Result<()> {
    match record {
        TableRecord::Tables { catalog, changes } => {
            apply_changes(&mut state.tables, catalog, changes)?
        }
        TableRecord::Insert { table, first, rows } => {
            state.tables.table_mut(table)?.insert(first, rows);
        }
        TableRecord::Update { table, rows } => state.tables.table_mut(table)?.update(rows),
        TableRecord::Delete { table, rows } => {
            state.tables.table_mut(table)?.delete(&rows);
        }
        TableRecord::Truncate { table } => state.tables.table_mut(table)?.truncate(),
    }
    state.active.note_other_write(1);
    Ok(())
}
