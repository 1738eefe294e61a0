//! Table names: the [`Table`] handle every module uses to name its table, the store's own
//! [`META`] table, and the one place that turns a `Table` into a redb table definition.
//!
//! Every table is byte-keyed and byte-valued, so backup, restore and migrations can copy any
//! table without knowing what it holds; the owning module chooses its key layout and codec.

/// The redb definition shared by every table: raw bytes in, raw bytes out.
pub(crate) type RawDef = redb::TableDefinition<'static, &'static [u8], &'static [u8]>;

/// A named table. The name carries a version (`"users_v1"`): a change of layout is a new table
/// filled by a migration, never an in-place reinterpretation of old bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    name: &'static str,
}

impl Table {
    /// Names a table. The name must be non-empty (checked at compile time when used in a
    /// `const`), should end in a version (`_v1`) and must not start with `__`, which is
    /// reserved for the store's own bookkeeping inside backup files.
    pub const fn new(name: &'static str) -> Table {
        assert!(!name.is_empty(), "a table name must not be empty");
        Table { name }
    }

    /// The table's name as stored in the file.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The redb definition for this table.
    pub(crate) fn def(&self) -> RawDef {
        redb::TableDefinition::new(self.name)
    }
}

/// The store's own bookkeeping: `schema_version` (a JSON number) and nothing else so far.
pub const META: Table = Table::new("meta_v1");

/// The key in [`META`] under which the schema version is kept.
pub(crate) const SCHEMA_VERSION_KEY: &[u8] = b"schema_version";

/// The redb definition for a table known only by a runtime name (backup, restore), which may
/// be any string found in a file. redb's constructor panics on an empty name, so that is
/// refused here first.
pub(crate) fn raw_def(
    name: &str,
) -> Result<redb::TableDefinition<'_, &'static [u8], &'static [u8]>, crate::store::StoreError> {
    if name.is_empty() {
        return Err(crate::store::StoreError::Corrupt(
            "a table with an empty name".to_string(),
        ));
    }
    Ok(redb::TableDefinition::new(name))
}
