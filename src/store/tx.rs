//! The transaction handles domain code sees: [`WriteTx`] inside a write closure (run by the
//! group-commit writer) and [`ReadTx`] inside a read closure (a redb snapshot).
//!
//! Both speak bytes and `&Table` only, so no redb type leaks out of the store module.

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ops::Bound;

use redb::{ReadableTable, ReadableTableMetadata};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::StoreError;
use super::tables::Table;

/// A table opened in a write transaction.
type RawTable<'t> = redb::Table<'t, &'static [u8], &'static [u8]>;

/// One key/value pair copied out of a table.
pub type Row = (Vec<u8>, Vec<u8>);

/// The write side of one transaction, handed to each write closure of a batch.
///
/// Every closure of a batch shares the same redb transaction, so a closure sees the writes of
/// the closures before it; nothing is visible to readers, or acknowledged, until the whole
/// batch has been committed durably. A closure that returns `Err` (or panics) is dropped from
/// the batch and the others are re-run in a fresh transaction, so closures must be safe to run
/// more than once (they are `FnMut`) and must keep side effects outside the store to a minimum.
pub struct WriteTx<'t> {
    txn: &'t redb::WriteTransaction,
    /// Tables opened so far in this transaction. redb allows one open handle per table, and
    /// opening costs a lookup in the table directory, so each is opened once and kept; the
    /// `RefCell` lets read methods (`&self`) open a table too.
    open: RefCell<HashMap<&'static str, RawTable<'t>>>,
    /// Tables deleted in this transaction (no longer in `open`), for the table generations.
    dropped: Vec<&'static str>,
}

impl<'t> WriteTx<'t> {
    pub(crate) fn new(txn: &'t redb::WriteTransaction) -> WriteTx<'t> {
        WriteTx {
            txn,
            open: RefCell::new(HashMap::new()),
            dropped: Vec::new(),
        }
    }

    /// Runs `f` on the open handle of `table`, opening (and, in a write transaction, creating)
    /// it on first use.
    fn with_table<R>(
        &self,
        table: &Table,
        f: impl FnOnce(&mut RawTable<'t>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut open = self
            .open
            .try_borrow_mut()
            .map_err(|_| StoreError::Internal("write transaction re-entered".to_string()))?;
        let handle = match open.entry(table.name()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => v.insert(self.txn.open_table(table.def())?),
        };
        f(handle)
    }

    /// The tables this transaction opened (read or written) or deleted, for the table
    /// generations; consumes the handle, closing its tables.
    pub(crate) fn into_opened_tables(self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.open.into_inner().into_keys().collect();
        names.extend(self.dropped);
        names
    }

    /// The value stored under `key`, including writes made earlier in this batch.
    pub fn get(&self, table: &Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_table(table, |t| Ok(t.get(key)?.map(|v| v.value().to_vec())))
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub fn put(&mut self, table: &Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.with_table(table, |t| {
            t.insert(key, value)?;
            Ok(())
        })
    }

    /// Removes `key`; answers whether it was present.
    pub fn delete(&mut self, table: &Table, key: &[u8]) -> Result<bool, StoreError> {
        self.with_table(table, |t| Ok(t.remove(key)?.is_some()))
    }

    /// Up to `limit` rows whose key starts with `prefix`, in key order.
    pub fn scan_prefix(
        &self,
        table: &Table,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        self.with_table(table, |t| scan(t, prefix, Some(prefix), limit))
    }

    /// Up to `limit` rows whose key is `>= start`, in key order. To page on, pass the last key
    /// seen with a `0` byte appended.
    pub fn scan_range(
        &self,
        table: &Table,
        start: &[u8],
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        self.with_table(table, |t| scan(t, start, None, limit))
    }

    /// The value under `key` decoded from JSON; a value that does not decode is `Codec`.
    pub fn get_json<V: DeserializeOwned>(
        &self,
        table: &Table,
        key: &[u8],
    ) -> Result<Option<V>, StoreError> {
        self.get(table, key)?
            .map(|bytes| serde_json::from_slice(&bytes).map_err(StoreError::from))
            .transpose()
    }

    /// Stores `value` encoded as JSON under `key`.
    pub fn put_json<V: Serialize>(
        &mut self,
        table: &Table,
        key: &[u8],
        value: &V,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value)?;
        self.put(table, key, &bytes)
    }

    /// The number of rows in `table` (0 for a table never written).
    pub fn len(&self, table: &Table) -> Result<u64, StoreError> {
        self.with_table(table, |t| Ok(t.len()?))
    }

    /// Deletes `table` with all its rows (for migrations that replace `x_v1` by `x_v2`);
    /// answers whether it existed.
    pub fn drop_table(&mut self, table: &Table) -> Result<bool, StoreError> {
        // redb refuses to delete a table that has an open handle.
        self.open
            .try_borrow_mut()
            .map_err(|_| StoreError::Internal("write transaction re-entered".to_string()))?
            .remove(table.name());
        self.dropped.push(table.name());
        Ok(self.txn.delete_table(table.def())?)
    }
}

/// A consistent, read-only snapshot of the store: everything committed before it began, and
/// nothing committed after.
pub struct ReadTx {
    txn: redb::ReadTransaction,
}

/// A table opened in a read transaction.
type RawReadTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

impl ReadTx {
    pub(crate) fn new(txn: redb::ReadTransaction) -> ReadTx {
        ReadTx { txn }
    }

    /// Opens `table`; a table never written does not exist in the file and reads as empty.
    fn table(&self, table: &Table) -> Result<Option<RawReadTable>, StoreError> {
        match self.txn.open_table(table.def()) {
            Ok(t) => Ok(Some(t)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The value stored under `key`.
    pub fn get(&self, table: &Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.table(table)? {
            Some(t) => Ok(t.get(key)?.map(|v| v.value().to_vec())),
            None => Ok(None),
        }
    }

    /// Up to `limit` rows whose key starts with `prefix`, in key order.
    pub fn scan_prefix(
        &self,
        table: &Table,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        match self.table(table)? {
            Some(t) => scan(&t, prefix, Some(prefix), limit),
            None => Ok(Vec::new()),
        }
    }

    /// Up to `limit` rows whose key is `>= start`, in key order. To page on, pass the last key
    /// seen with a `0` byte appended.
    pub fn scan_range(
        &self,
        table: &Table,
        start: &[u8],
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        match self.table(table)? {
            Some(t) => scan(&t, start, None, limit),
            None => Ok(Vec::new()),
        }
    }

    /// The value under `key` decoded from JSON; a value that does not decode is `Codec`.
    pub fn get_json<V: DeserializeOwned>(
        &self,
        table: &Table,
        key: &[u8],
    ) -> Result<Option<V>, StoreError> {
        self.get(table, key)?
            .map(|bytes| serde_json::from_slice(&bytes).map_err(StoreError::from))
            .transpose()
    }

    /// The number of rows in `table` (0 for a table never written).
    pub fn len(&self, table: &Table) -> Result<u64, StoreError> {
        match self.table(table)? {
            Some(t) => Ok(t.len()?),
            None => Ok(0),
        }
    }
}

/// Reading that works the same in both transaction kinds, so that a domain rule (a pool
/// scope, a key check) is written once and holds inside a write as well as in a read.
pub trait Reads {
    /// The value stored under `key`.
    fn get_bytes(&self, table: &Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Up to `limit` rows whose key starts with `prefix`, in key order.
    fn scan(&self, table: &Table, prefix: &[u8], limit: usize) -> Result<Vec<Row>, StoreError>;
    /// The value under `key` decoded from JSON; a value that does not decode is `Codec`.
    fn get_json_value<V: DeserializeOwned>(
        &self,
        table: &Table,
        key: &[u8],
    ) -> Result<Option<V>, StoreError> {
        self.get_bytes(table, key)?
            .map(|bytes| serde_json::from_slice(&bytes).map_err(StoreError::from))
            .transpose()
    }
    /// Up to `limit` values of the table decoded from JSON, in key order; a value that does
    /// not decode is `Codec`.
    fn scan_json<V: DeserializeOwned>(
        &self,
        table: &Table,
        limit: usize,
    ) -> Result<Vec<V>, StoreError> {
        self.scan(table, b"", limit)?
            .into_iter()
            .map(|(_, v)| serde_json::from_slice(&v).map_err(StoreError::from))
            .collect()
    }
}

impl Reads for ReadTx {
    fn get_bytes(&self, table: &Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(table, key)
    }
    fn scan(&self, table: &Table, prefix: &[u8], limit: usize) -> Result<Vec<Row>, StoreError> {
        self.scan_prefix(table, prefix, limit)
    }
}

impl Reads for WriteTx<'_> {
    fn get_bytes(&self, table: &Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(table, key)
    }
    fn scan(&self, table: &Table, prefix: &[u8], limit: usize) -> Result<Vec<Row>, StoreError> {
        self.scan_prefix(table, prefix, limit)
    }
}

/// Copies up to `limit` rows with key `>= start` out of `t`, stopping at the first key that
/// does not start with `prefix` (when given). Shared by both transaction kinds.
fn scan<T>(t: &T, start: &[u8], prefix: Option<&[u8]>, limit: usize) -> Result<Vec<Row>, StoreError>
where
    T: ReadableTable<&'static [u8], &'static [u8]>,
{
    let mut rows = Vec::new();
    if limit == 0 {
        return Ok(rows);
    }
    let range = (Bound::Included(start), Bound::Unbounded);
    for item in t.range::<&[u8]>(range)? {
        let (k, v) = item?;
        let key = k.value();
        if prefix.is_some_and(|p| !key.starts_with(p)) {
            break;
        }
        rows.push((key.to_vec(), v.value().to_vec()));
        if rows.len() >= limit {
            break;
        }
    }
    Ok(rows)
}
