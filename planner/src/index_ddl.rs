//! `CREATE [UNIQUE] INDEX` and `DROP INDEX` on plain tables.
//!
//! An index is kept in its table's catalog entry and shown by the catalog; the planner does
//! not read through it (plain tables are held in memory and scanned). A unique index is
//! enforced: it is the storage engine's unique key of the same name, so creating it fails on
//! rows that already repeat a key (23505) and so do later writes. Indexes share the
//! relations' namespace, as in PostgreSQL.

use datafusion::sql::sqlparser::ast::{CreateIndex, Expr, ObjectName};
use rusts_catalog::tables::{Catalog, Index, PlainTable};
use rusts_storage::{TableChange, TableId, UniqueKey};

use crate::ddl::{SessionTarget, normalize, table_name};
use crate::error::{Error, Result};
use crate::storage_name;

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] [name] ON table (column, …)`.
pub(crate) fn create(target: &SessionTarget, create: &CreateIndex) -> Result<()> {
    let table = table_name(target, &create.table_name)?;
    if create.predicate.is_some() || !create.include.is_empty() {
        return Err(Error::NotSupported {
            what: "partial indexes and INCLUDE columns".to_owned(),
        });
    }
    if target
        .storage
        .schema(&storage_name(&target.database, &table))
        .is_some()
    {
        return Err(Error::NotSupported {
            what: format!(
                "CREATE INDEX on measurement \"{table}\": its time and tags are indexed already"
            ),
        });
    }
    let requested = create
        .name
        .as_ref()
        .map(|name| table_name(target, name))
        .transpose()?;
    target.catalog.change(&target.storage, |catalog| {
        let position = catalog
            .table_position(&target.database, &table)
            .ok_or_else(|| Error::UndefinedTable {
                table: table.clone(),
            })?;
        let definition = &catalog.tables[position];
        let columns = index_columns(definition, create)?;
        let name = match &requested {
            Some(name) if relation_exists(target, catalog, name) => {
                return if create.if_not_exists {
                    Ok((Vec::new(), ()))
                } else {
                    Err(Error::TableExists {
                        table: name.clone(),
                    })
                };
            }
            Some(name) => name.clone(),
            None => chosen_name(target, catalog, &table, &columns),
        };
        let mut changes = Vec::new();
        let id = TableId(u64::from(definition.oid));
        if create.unique {
            changes.push(TableChange::AddUnique {
                id,
                key: UniqueKey {
                    name: name.clone(),
                    columns: columns.clone(),
                },
            });
        }
        catalog.tables[position].indexes.push(Index {
            name,
            columns,
            unique: create.unique,
        });
        Ok((changes, ()))
    })
}

/// The positions of the columns `create` indexes; only plain column names are taken.
fn index_columns(definition: &PlainTable, create: &CreateIndex) -> Result<Vec<usize>> {
    create
        .columns
        .iter()
        .map(|column| {
            let name = match &column.column.expr {
                Expr::Identifier(ident) => normalize(ident),
                other => {
                    return Err(Error::NotSupported {
                        what: format!("an index on the expression {other}"),
                    });
                }
            };
            definition
                .column(&name)
                .ok_or_else(|| Error::UndefinedColumn {
                    table: definition.name.clone(),
                    column: name,
                })
        })
        .collect()
}

/// PostgreSQL's name for an unnamed index: `<table>_<columns>_idx`, then `…_idx1`, `…_idx2`
/// until no relation has it.
fn chosen_name(
    target: &SessionTarget,
    catalog: &Catalog,
    table: &str,
    columns: &[usize],
) -> String {
    let definition = catalog.table(&target.database, table);
    let mut base = table.to_owned();
    for column in columns {
        if let Some(column) = definition.and_then(|d| d.columns.get(*column)) {
            base.push('_');
            base.push_str(&column.name);
        }
    }
    base.push_str("_idx");
    let mut name = base.clone();
    let mut suffix = 0;
    while relation_exists(target, catalog, &name) {
        suffix += 1;
        name = format!("{base}{suffix}");
    }
    name
}

/// Whether the database has a table, measurement, view, index or constraint index called
/// `name`.
pub(crate) fn relation_exists(target: &SessionTarget, catalog: &Catalog, name: &str) -> bool {
    target
        .storage
        .schema(&storage_name(&target.database, name))
        .is_some()
        || catalog.view(&target.database, name).is_some()
        || catalog.tables_of(&target.database).any(|table| {
            table.name == name
                || table.indexes.iter().any(|index| index.name == name)
                || table
                    .primary_key
                    .iter()
                    .chain(&table.unique)
                    .any(|key| key.name == name)
        })
}

/// `DROP INDEX [IF EXISTS] name, …`: 42704 for an unknown index, 2BP01 for the index of a
/// constraint (drop the constraint instead, as PostgreSQL says).
pub(crate) fn drop(target: &SessionTarget, names: &[ObjectName], if_exists: bool) -> Result<()> {
    let names = names
        .iter()
        .map(|name| table_name(target, name))
        .collect::<Result<Vec<_>>>()?;
    target.catalog.change(&target.storage, |catalog| {
        let mut changes = Vec::new();
        for name in &names {
            if let Some(table) = catalog.tables_of(&target.database).find(|table| {
                table
                    .primary_key
                    .iter()
                    .chain(&table.unique)
                    .any(|key| key.name == *name)
            }) {
                return Err(Error::DependentObjects {
                    reason: format!(
                        "cannot drop index {name} because constraint {name} on table {} \
                         requires it",
                        table.name
                    ),
                });
            }
            let Some((table, index)) = catalog.index(&target.database, name) else {
                if if_exists {
                    continue;
                }
                return Err(Error::UndefinedObject {
                    what: "index",
                    name: name.clone(),
                });
            };
            let definition = &mut catalog.tables[table];
            let removed = definition.indexes.remove(index);
            if removed.unique {
                changes.push(TableChange::DropUnique {
                    id: TableId(u64::from(definition.oid)),
                    name: removed.name,
                });
            }
        }
        Ok((changes, ()))
    })
}
