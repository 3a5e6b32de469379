//! `CREATE TABLE`, `ALTER TABLE` and `DROP TABLE` of plain tables ([`crate::plain`]): a table without a
//! `time` column.
//!
//! Column types: `smallint`, `integer`, `bigint`, `real`, `double precision` (`float`),
//! `numeric[(p, s)]` (`decimal`), `text`, `varchar[(n)]`, `char[(n)]`, `boolean`, `date`,
//! `timestamp`, `timestamptz`, `bytea`, with PostgreSQL's aliases. Column options `NULL`,
//! `NOT NULL`, `DEFAULT expr`, `PRIMARY KEY`, `UNIQUE`; table constraints `PRIMARY KEY (…)`
//! and `UNIQUE (…)`, named or not (PostgreSQL's names: `t_pkey`, `t_a_key`). Anything else
//! (`CHECK`, foreign keys, generated columns, …) is refused with 0A000 rather than ignored.
//! `varchar(n)` and `char(n)` lengths are recorded but not enforced, and `char(n)` is not
//! blank-padded.

use datafusion::sql::sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, CreateTable, DataType, ExactNumberInfo,
    RenameTableNameKind, TableConstraint,
};
use rusts_catalog::tables::{Column, Key, PlainTable as TableDefinition};
use rusts_storage::{TableChange, TableColumn, TableId, UniqueKey};

use crate::ddl::{SessionTarget, normalize};
use crate::error::{Error, Result};
use crate::plain::storage_type;
use crate::storage_name;

/// Creates the plain table `create` describes, named `table` in the session's database.
/// Returns `false`, changing nothing, when a table of that name exists (`IF NOT EXISTS`).
pub(crate) fn create(target: &SessionTarget, table: &str, create: &CreateTable) -> Result<bool> {
    let (columns, primary_key, unique) = definition(table, create)?;
    let storage_columns = columns
        .iter()
        .map(|column| {
            let column_type =
                storage_type(column.type_oid, column.type_modifier).ok_or_else(|| {
                    Error::Internal {
                        what: format!("no storage type for column {}", column.name),
                    }
                })?;
            Ok(TableColumn {
                name: column.name.clone(),
                column_type,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let keys: Vec<UniqueKey> = primary_key
        .iter()
        .chain(&unique)
        .map(|key| UniqueKey {
            name: key.name.clone(),
            columns: key.columns.clone(),
        })
        .collect();
    let measurement_exists = target
        .storage
        .schema(&storage_name(&target.database, table))
        .is_some();
    target.catalog.change(&target.storage, |catalog| {
        if measurement_exists
            || catalog.table(&target.database, table).is_some()
            || catalog.view(&target.database, table).is_some()
        {
            if create.if_not_exists {
                return Ok((Vec::new(), false));
            }
            return Err(Error::TableExists {
                table: table.to_owned(),
            });
        }
        let oid = catalog.allocate_oid(|_| false);
        catalog.tables.push(TableDefinition {
            oid,
            database: target.database.clone(),
            name: table.to_owned(),
            columns,
            primary_key,
            unique,
            indexes: Vec::new(),
        });
        let change = TableChange::Create {
            id: TableId(u64::from(oid)),
            columns: storage_columns,
            unique: keys,
        };
        Ok((vec![change], true))
    })
}

/// The columns, primary key and unique keys `create` declares for `table`.
fn definition(table: &str, create: &CreateTable) -> Result<(Vec<Column>, Option<Key>, Vec<Key>)> {
    let mut columns = Vec::with_capacity(create.columns.len());
    let mut primary_key: Option<Key> = None;
    let mut unique = Vec::new();
    for (position, column) in create.columns.iter().enumerate() {
        let (definition, is_primary, is_unique) = column_definition(table, column)?;
        if columns.iter().any(|c: &Column| c.name == definition.name) {
            return Err(Error::DuplicateColumn {
                table: table.to_owned(),
                column: definition.name,
            });
        }
        if is_primary {
            set_primary_key(&mut primary_key, table, vec![position])?;
        }
        if is_unique {
            unique.push(Key {
                name: format!("{table}_{}_key", definition.name),
                columns: vec![position],
            });
        }
        columns.push(definition);
    }
    for constraint in &create.constraints {
        match constraint {
            TableConstraint::PrimaryKey(key) => {
                let positions = key_positions(table, &columns, &key_columns(&key.columns))?;
                set_primary_key(&mut primary_key, table, positions)?;
                if let Some(name) = &key.name
                    && let Some(primary) = primary_key.as_mut()
                {
                    primary.name = normalize(name);
                }
            }
            TableConstraint::Unique(key) => {
                let names = key_columns(&key.columns);
                let positions = key_positions(table, &columns, &names)?;
                let name = key
                    .name
                    .as_ref()
                    .map_or_else(|| format!("{table}_{}_key", names.join("_")), normalize);
                unique.push(Key {
                    name,
                    columns: positions,
                });
            }
            other => {
                return Err(Error::NotSupported {
                    what: format!("table constraint {other}"),
                });
            }
        }
    }
    if let Some(key) = &primary_key {
        for &position in &key.columns {
            if let Some(column) = columns.get_mut(position) {
                column.not_null = true;
            }
        }
    }
    Ok((columns, primary_key, unique))
}

/// Drops the plain table `table` of the session's database; `false` when there is none.
pub(crate) fn drop(target: &SessionTarget, table: &str) -> Result<bool> {
    target.catalog.change(&target.storage, |catalog| {
        let Some(position) = catalog.table_position(&target.database, table) else {
            return Ok((Vec::new(), false));
        };
        let removed = catalog.tables.remove(position);
        let change = TableChange::Drop {
            id: TableId(u64::from(removed.oid)),
        };
        Ok((vec![change], true))
    })
}

/// Whether the session's database has a view `name`.
pub(crate) fn is_view(target: &SessionTarget, name: &str) -> Result<bool> {
    Ok(target
        .catalog
        .current(&target.storage)?
        .view(&target.database, name)
        .is_some())
}

/// Whether the session's database has a plain table `table`.
pub(crate) fn exists(target: &SessionTarget, table: &str) -> Result<bool> {
    Ok(target
        .catalog
        .current(&target.storage)?
        .table(&target.database, table)
        .is_some())
}

fn set_primary_key(primary_key: &mut Option<Key>, table: &str, columns: Vec<usize>) -> Result<()> {
    if primary_key.is_some() {
        return Err(Error::InvalidDefinition {
            table: table.to_owned(),
            reason: "multiple primary keys are not allowed".to_owned(),
        });
    }
    *primary_key = Some(Key {
        name: format!("{table}_pkey"),
        columns,
    });
    Ok(())
}

fn key_columns(columns: &[datafusion::sql::sqlparser::ast::IndexColumn]) -> Vec<String> {
    columns
        .iter()
        .map(|column| match &column.column.expr {
            datafusion::sql::sqlparser::ast::Expr::Identifier(ident) => normalize(ident),
            other => other.to_string(),
        })
        .collect()
}

fn key_positions(table: &str, columns: &[Column], names: &[String]) -> Result<Vec<usize>> {
    names
        .iter()
        .map(|name| {
            columns
                .iter()
                .position(|column| column.name == *name)
                .ok_or_else(|| Error::InvalidDefinition {
                    table: table.to_owned(),
                    reason: format!("column \"{name}\" named in key does not exist"),
                })
        })
        .collect()
}

/// A column's catalog entry, and whether it is declared `PRIMARY KEY` / `UNIQUE`.
fn column_definition(table: &str, column: &ColumnDef) -> Result<(Column, bool, bool)> {
    let name = normalize(&column.name);
    let (type_oid, type_modifier) =
        sql_type(&column.data_type).ok_or_else(|| Error::NotSupported {
            what: format!(
                "type {} for column \"{name}\" of table \"{table}\"",
                column.data_type.to_string().to_lowercase()
            ),
        })?;
    let mut definition = Column {
        name,
        type_oid,
        type_modifier,
        not_null: false,
        default: None,
    };
    let (mut primary, mut unique) = (false, false);
    for option in &column.options {
        match &option.option {
            ColumnOption::Null => {}
            ColumnOption::NotNull => definition.not_null = true,
            ColumnOption::Default(expr) => definition.default = Some(expr.to_string()),
            ColumnOption::PrimaryKey(_) => primary = true,
            ColumnOption::Unique(_) => unique = true,
            other => {
                return Err(Error::NotSupported {
                    what: format!(
                        "column option {other} on \"{}\" of table \"{table}\"",
                        definition.name
                    ),
                });
            }
        }
    }
    Ok((definition, primary, unique))
}

/// The PostgreSQL type (OID and modifier) of a SQL type plain tables take.
fn sql_type(data_type: &DataType) -> Option<(u32, i32)> {
    let length = |length: &Option<datafusion::sql::sqlparser::ast::CharacterLength>| match length {
        Some(datafusion::sql::sqlparser::ast::CharacterLength::IntegerLength {
            length, ..
        }) => i32::try_from(*length).ok().map(|n| n + 4),
        _ => Some(-1),
    };
    Some(match data_type {
        DataType::Boolean | DataType::Bool => (16, -1),
        DataType::SmallInt(_) | DataType::Int2(_) => (21, -1),
        DataType::Int(_) | DataType::Integer(_) | DataType::Int4(_) => (23, -1),
        DataType::BigInt(_) | DataType::Int8(_) => (20, -1),
        DataType::Real | DataType::Float4 => (700, -1),
        DataType::DoublePrecision | DataType::Double(_) | DataType::Float8 => (701, -1),
        DataType::Float(_) => (701, -1),
        DataType::Numeric(info) | DataType::Decimal(info) | DataType::Dec(info) => {
            let modifier = match info {
                ExactNumberInfo::None => -1,
                ExactNumberInfo::Precision(precision) => i32::try_from(*precision).ok()? << 16,
                ExactNumberInfo::PrecisionAndScale(precision, scale) => {
                    (i32::try_from(*precision).ok()? << 16) | i32::try_from(*scale).ok()?
                }
            };
            (1700, if modifier == -1 { -1 } else { modifier + 4 })
        }
        DataType::Text | DataType::String(_) => (25, -1),
        DataType::Varchar(n) | DataType::CharacterVarying(n) | DataType::CharVarying(n) => {
            (1043, length(n)?)
        }
        DataType::Char(n) | DataType::Character(n) => (1042, length(n).map(|m| m.max(5))?),
        DataType::Bytea => (17, -1),
        DataType::Date => (1082, -1),
        DataType::Timestamp(_, zone) => {
            use datafusion::sql::sqlparser::ast::TimezoneInfo;
            match zone {
                TimezoneInfo::WithTimeZone | TimezoneInfo::Tz => (1184, -1),
                _ => (1114, -1),
            }
        }
        DataType::TimestampNtz(_) => (1114, -1),
        DataType::Custom(name, modifiers) if modifiers.is_empty() => {
            match name.to_string().to_ascii_lowercase().as_str() {
                "timestamptz" => (1184, -1),
                "int2" => (21, -1),
                "int4" => (23, -1),
                "int8" => (20, -1),
                "float4" => (700, -1),
                "float8" => (701, -1),
                "bpchar" => (1042, 5),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// `ALTER TABLE` of the plain table `table`: `ADD COLUMN` (existing rows take its
/// `DEFAULT`, a constant or a function such as `now()` evaluated once, else NULL),
/// `DROP COLUMN` (with the keys over it, as PostgreSQL drops their indexes), `RENAME COLUMN`
/// and `RENAME TO`. All operations of the statement apply together or not at all.
pub(crate) fn alter(
    target: &SessionTarget,
    table: &str,
    operations: &[AlterTableOperation],
) -> Result<()> {
    target.catalog.change(&target.storage, |catalog| {
        let position = catalog
            .table_position(&target.database, table)
            .ok_or_else(|| Error::UndefinedTable {
                table: table.to_owned(),
            })?;
        let rows = target
            .storage
            .table(TableId(u64::from(catalog.tables[position].oid)))
            .map_or(0, |rows| rows.len());
        let mut changes = Vec::new();
        for operation in operations {
            let definition =
                catalog
                    .tables
                    .get_mut(position)
                    .ok_or_else(|| Error::UndefinedTable {
                        table: table.to_owned(),
                    })?;
            alter_one(target, definition, rows, operation, &mut changes)?;
        }
        if let Some(renamed) = catalog.tables.get(position).map(|t| t.name.clone())
            && renamed != table
            && (catalog.view(&target.database, &renamed).is_some()
                || catalog
                    .tables_of(&target.database)
                    .filter(|t| t.name == renamed)
                    .count()
                    > 1
                || target
                    .storage
                    .schema(&storage_name(&target.database, &renamed))
                    .is_some())
        {
            return Err(Error::TableExists { table: renamed });
        }
        Ok((changes, ()))
    })
}

fn alter_one(
    target: &SessionTarget,
    definition: &mut TableDefinition,
    rows: usize,
    operation: &AlterTableOperation,
    changes: &mut Vec<TableChange>,
) -> Result<()> {
    let id = TableId(u64::from(definition.oid));
    let table = definition.name.clone();
    match operation {
        AlterTableOperation::AddColumn {
            if_not_exists,
            column_def,
            ..
        } => add_column(
            target,
            definition,
            rows,
            *if_not_exists,
            column_def,
            changes,
        )?,
        AlterTableOperation::DropColumn {
            column_names,
            if_exists,
            ..
        } => {
            for name in column_names {
                let name = normalize(name);
                let Some(position) = definition.column(&name) else {
                    if *if_exists {
                        continue;
                    }
                    return Err(Error::UndefinedColumn {
                        table,
                        column: name,
                    });
                };
                drop_column(definition, id, position, changes);
            }
        }
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => rename_column(definition, old_column_name, new_column_name, changes)?,
        AlterTableOperation::RenameTable { table_name } => {
            let (RenameTableNameKind::As(name) | RenameTableNameKind::To(name)) = table_name;
            let new = match name.0.as_slice() {
                [part] => part.as_ident().map(normalize),
                _ => None,
            }
            .ok_or_else(|| Error::NotSupported {
                what: format!("renaming to {name}: give the new name without a schema"),
            })?;
            definition.name = new;
        }
        other => {
            return Err(Error::NotSupported {
                what: format!("ALTER TABLE … {other} on a plain table"),
            });
        }
    }
    Ok(())
}

/// `ALTER TABLE … RENAME COLUMN`, for [`alter_one`].
fn rename_column(
    definition: &mut TableDefinition,
    old_column_name: &datafusion::sql::sqlparser::ast::Ident,
    new_column_name: &datafusion::sql::sqlparser::ast::Ident,
    changes: &mut Vec<TableChange>,
) -> Result<()> {
    let id = TableId(u64::from(definition.oid));
    let table = definition.name.clone();

    let (old, new) = (normalize(old_column_name), normalize(new_column_name));
    let position = definition
        .column(&old)
        .ok_or_else(|| Error::UndefinedColumn {
            table: table.clone(),
            column: old.clone(),
        })?;
    if definition.column(&new).is_some() {
        return Err(Error::DuplicateColumn { table, column: new });
    }
    if let Some(column) = definition.columns.get_mut(position) {
        column.name = new.clone();
    }
    changes.push(TableChange::RenameColumn {
        id,
        position,
        name: new,
    });
    Ok(())
}

/// `ALTER TABLE … ADD COLUMN`, for [`alter_one`].
fn add_column(
    target: &SessionTarget,
    definition: &mut TableDefinition,
    rows: usize,
    if_not_exists: bool,
    column_def: &ColumnDef,
    changes: &mut Vec<TableChange>,
) -> Result<()> {
    let id = TableId(u64::from(definition.oid));
    let table = definition.name.clone();
    let (column, primary, unique) = column_definition(&table, column_def)?;
    if definition.column(&column.name).is_some() {
        if if_not_exists {
            return Ok(());
        }
        return Err(Error::DuplicateColumn {
            table,
            column: column.name,
        });
    }
    if primary {
        return Err(Error::NotSupported {
            what: "ALTER TABLE … ADD COLUMN … PRIMARY KEY".to_owned(),
        });
    }
    let column_type =
        storage_type(column.type_oid, column.type_modifier).ok_or_else(|| Error::Internal {
            what: format!("no storage type for column {}", column.name),
        })?;
    let fill = match &column.default {
        Some(text) => crate::plain::constant_value(target, &table, text, column_type)?,
        None => rusts_storage::Value::Null,
    };
    if column.not_null && rows > 0 && fill == rusts_storage::Value::Null {
        return Err(Error::ColumnContainsNulls {
            table,
            column: column.name,
        });
    }
    let position = definition.columns.len();
    changes.push(TableChange::AddColumn {
        id,
        column: TableColumn {
            name: column.name.clone(),
            column_type,
        },
        fill,
    });
    if unique {
        let key = Key {
            name: format!("{table}_{}_key", column.name),
            columns: vec![position],
        };
        changes.push(TableChange::AddUnique {
            id,
            key: UniqueKey {
                name: key.name.clone(),
                columns: key.columns.clone(),
            },
        });
        definition.unique.push(key);
    }
    definition.columns.push(column);
    Ok(())
}

/// Removes the column at `position` and the keys and indexes over it (as PostgreSQL drops
/// them), renumbering later positions.
fn drop_column(
    definition: &mut TableDefinition,
    id: TableId,
    position: usize,
    changes: &mut Vec<TableChange>,
) {
    let uses = |key: &Key| key.columns.contains(&position);
    for key in definition.primary_key.iter().chain(&definition.unique) {
        if uses(key) {
            changes.push(TableChange::DropUnique {
                id,
                name: key.name.clone(),
            });
        }
    }
    if definition.primary_key.as_ref().is_some_and(uses) {
        definition.primary_key = None;
    }
    definition.unique.retain(|key| !uses(key));
    for index in &definition.indexes {
        if index.unique && index.columns.contains(&position) {
            changes.push(TableChange::DropUnique {
                id,
                name: index.name.clone(),
            });
        }
    }
    definition
        .indexes
        .retain(|index| !index.columns.contains(&position));
    for index in &mut definition.indexes {
        for column in &mut index.columns {
            if *column > position {
                *column -= 1;
            }
        }
    }
    definition.columns.remove(position);
    for key in definition
        .primary_key
        .iter_mut()
        .chain(&mut definition.unique)
    {
        for column in &mut key.columns {
            if *column > position {
                *column -= 1;
            }
        }
    }
    changes.push(TableChange::DropColumn { id, position });
}
