//! `CREATE TABLE`, `ALTER TABLE … ADD COLUMN` and `DROP TABLE` on measurements.
//!
//! A measurement table has a `time` column (`timestamptz` or `timestamp`), tags (the
//! `PRIMARY KEY` columns other than `time`, text) and fields (every other column, typed:
//! `float8` and the other floating and numeric types, `int8` and the other integer types,
//! `boolean`, `text` and the other character types). DataFusion has no notion of tags and
//! would keep a `CREATE TABLE` in memory, so these statements are executed here, against the
//! storage engine, before DataFusion sees them. Everything the engine cannot honour (a table
//! without `time`, defaults, `NOT NULL` on a field, other constraints) is refused with
//! SQLSTATE 0A000 rather than accepted and ignored.

use std::sync::Arc;

use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    AlterTable, AlterTableOperation, ColumnDef, ColumnOption, CreateTable, Ident, ObjectName,
    ObjectType, Statement, TableConstraint,
};
use rusts_storage::FieldType;

use crate::catalog::PUBLIC_SCHEMA;
use crate::error::{Error, Result};
use crate::storage_name;

/// What a session's DDL acts on: the storage engine and the session's database. Stored as a
/// DataFusion session-config extension by [`crate::Engine::sql_session`].
#[derive(Debug)]
pub(crate) struct SessionTarget {
    pub(crate) storage: Arc<rusts_storage::Engine>,
    pub(crate) database: String,
    /// Plain tables' catalog.
    pub(crate) catalog: Arc<crate::plain::CatalogHandle>,
}

/// Whether [`execute`] handles `statement` on `context` (otherwise DataFusion plans it): the
/// table DDL, on sessions of [`crate::Engine::sql_session`].
pub fn handles(context: &SessionContext, statement: &Statement) -> bool {
    let ours = context
        .state()
        .config()
        .get_extension::<SessionTarget>()
        .is_some();
    ours && matches!(
        statement,
        Statement::CreateTable(_)
            | Statement::AlterTable(_)
            | Statement::CreateView(_)
            | Statement::CreateDatabase { .. }
            | Statement::CreateIndex(_)
            | Statement::Drop {
                object_type: ObjectType::Table
                    | ObjectType::Database
                    | ObjectType::Index
                    | ObjectType::View,
                ..
            }
    )
}

/// Executes a statement [`handles`] accepts on `context`'s database; returns its
/// `CommandComplete` tag. The change runs on a blocking thread: DDL appends to the WAL and,
/// in `every_write` mode, waits for its fsync, which must not stall the async runtime's
/// other connections. `CREATE VIEW` first plans the view's query here.
pub async fn execute_blocking(
    context: &SessionContext,
    statement: &Statement,
) -> Result<&'static str> {
    let view = match statement {
        Statement::CreateView(create) => Some(crate::views::prepare(context, create).await?),
        _ => None,
    };
    let context = context.clone();
    let statement = statement.clone();
    tokio::task::spawn_blocking(move || match view {
        Some(view) => {
            let target = session_target(&context)?;
            crate::views::create(&target, view).map(|()| "CREATE VIEW")
        }
        None => execute(&context, &statement),
    })
    .await
    .map_err(|error| Error::Internal {
        what: format!("DDL task failed: {error}"),
    })?
}

/// The session's [`SessionTarget`]: 0A000 on a session without a RusTs database.
pub(crate) fn session_target(context: &SessionContext) -> Result<Arc<SessionTarget>> {
    context
        .state()
        .config()
        .get_extension::<SessionTarget>()
        .ok_or_else(|| Error::NotSupported {
            what: "DDL on a session without a RusTs database".into(),
        })
}

/// Executes a statement [`handles`] accepts, other than `CREATE VIEW`.
fn execute(context: &SessionContext, statement: &Statement) -> Result<&'static str> {
    let target = session_target(context)?;
    match statement {
        Statement::CreateTable(create) => create_table(&target, create).map(|()| "CREATE TABLE"),
        Statement::AlterTable(alter) => alter_table(&target, alter).map(|()| "ALTER TABLE"),
        Statement::Drop {
            object_type: ObjectType::Table,
            if_exists,
            names,
            cascade,
            ..
        } => drop_tables(&target, names, *if_exists, *cascade).map(|()| "DROP TABLE"),
        Statement::Drop {
            object_type: ObjectType::View,
            if_exists,
            names,
            cascade,
            ..
        } => crate::views::drop(&target, names, *if_exists, *cascade).map(|()| "DROP VIEW"),
        Statement::CreateIndex(create) => {
            crate::index_ddl::create(&target, create).map(|()| "CREATE INDEX")
        }
        Statement::Drop {
            object_type: ObjectType::Index,
            if_exists,
            names,
            ..
        } => crate::index_ddl::drop(&target, names, *if_exists).map(|()| "DROP INDEX"),
        Statement::CreateDatabase {
            db_name,
            if_not_exists,
            ..
        } => crate::database_ddl::create(&target, db_name, *if_not_exists)
            .map(|()| "CREATE DATABASE"),
        Statement::Drop {
            object_type: ObjectType::Database,
            if_exists,
            names,
            ..
        } => {
            for name in names {
                crate::database_ddl::drop(&target, name, *if_exists)?;
            }
            Ok("DROP DATABASE")
        }
        other => Err(Error::NotSupported {
            what: format!("statement {}", first_words(&other.to_string())),
        }),
    }
}

fn create_table(target: &SessionTarget, create: &CreateTable) -> Result<()> {
    let table = table_name(target, &create.name)?;
    refuse_create_options(create)?;
    if !create
        .columns
        .iter()
        .any(|column| normalize(&column.name) == "time")
    {
        return crate::plain_ddl::create(target, &table, create).map(|_| ());
    }
    let mut primary_key: Vec<String> = Vec::new();
    for constraint in &create.constraints {
        match constraint {
            TableConstraint::PrimaryKey(key) => {
                for column in &key.columns {
                    primary_key.push(expression_column(&column.column.expr.to_string()));
                }
            }
            other => {
                return Err(Error::NotSupported {
                    what: format!("table constraint {other} on a measurement"),
                });
            }
        }
    }
    for column in &create.columns {
        if column
            .options
            .iter()
            .any(|option| matches!(option.option, ColumnOption::PrimaryKey(_)))
        {
            primary_key.push(normalize(&column.name));
        }
    }
    if crate::plain_ddl::exists(target, &table)? || crate::plain_ddl::is_view(target, &table)? {
        if create.if_not_exists {
            return Ok(());
        }
        return Err(Error::TableExists { table });
    }
    let mut tags = Vec::new();
    let mut fields = Vec::new();
    for column in &create.columns {
        let name = normalize(&column.name);
        let is_key = primary_key.contains(&name);
        match column_role(&table, column, &name, is_key)? {
            Role::Time => {}
            Role::Tag => tags.push(name),
            Role::Field(field_type) => fields.push((name, field_type)),
        }
    }
    if let Some(missing) = primary_key
        .iter()
        .find(|key| *key != "time" && !tags.contains(key))
    {
        return Err(Error::InvalidDefinition {
            table,
            reason: format!("PRIMARY KEY names column \"{missing}\", which is not defined"),
        });
    }
    let created = target
        .storage
        .create_measurement(&storage_name(&target.database, &table), &tags, &fields)
        .map_err(|error| Error::from(error).unqualified(&target.database))?;
    if !created && !create.if_not_exists {
        return Err(Error::TableExists { table });
    }
    Ok(())
}

fn refuse_create_options(create: &CreateTable) -> Result<()> {
    let refused = if create.query.is_some() {
        Some("CREATE TABLE … AS")
    } else if create.or_replace {
        Some("CREATE OR REPLACE TABLE")
    } else if create.temporary {
        Some("CREATE TEMPORARY TABLE")
    } else if create.like.is_some() || create.clone.is_some() {
        Some("CREATE TABLE … LIKE")
    } else if create.inherits.is_some() || create.partition_of.is_some() {
        Some("CREATE TABLE … INHERITS / PARTITION OF")
    } else {
        None
    };
    match refused {
        Some(what) => Err(Error::NotSupported {
            what: format!("{what} (create the measurement, then INSERT … SELECT)"),
        }),
        None => Ok(()),
    }
}

enum Role {
    Time,
    Tag,
    Field(FieldType),
}

fn column_role(table: &str, column: &ColumnDef, name: &str, is_key: bool) -> Result<Role> {
    let sql_type = base_type(&column.data_type.to_string());
    for option in &column.options {
        match &option.option {
            ColumnOption::Null | ColumnOption::PrimaryKey(_) => {}
            ColumnOption::NotNull if name == "time" || is_key => {}
            ColumnOption::NotNull => {
                return Err(Error::NotSupported {
                    what: format!(
                        "NOT NULL on field column \"{name}\": measurement fields may be absent \
                         from any row"
                    ),
                });
            }
            other => {
                return Err(Error::NotSupported {
                    what: format!("column option {other} on \"{name}\" of a measurement"),
                });
            }
        }
    }
    if name == "time" {
        return if matches!(
            sql_type.as_str(),
            "timestamptz"
                | "timestamp with time zone"
                | "timestamp"
                | "timestamp without time zone"
        ) {
            Ok(Role::Time)
        } else {
            Err(Error::InvalidDefinition {
                table: table.to_owned(),
                reason: format!("column \"time\" must be timestamptz, not {sql_type}"),
            })
        };
    }
    let field_type = field_type(&sql_type).ok_or_else(|| Error::NotSupported {
        what: format!(
            "type {} for column \"{name}\": measurement columns are float8, int8, boolean or \
             text (and types that map to them)",
            column.data_type.to_string().to_lowercase()
        ),
    })?;
    if !is_key {
        return Ok(Role::Field(field_type));
    }
    if field_type != FieldType::String {
        return Err(Error::InvalidDefinition {
            table: table.to_owned(),
            reason: format!(
                "PRIMARY KEY column \"{name}\" is a tag and must be text, not {}",
                column.data_type.to_string().to_lowercase()
            ),
        });
    }
    Ok(Role::Tag)
}

/// The storage type of a SQL type (lower case, without modifiers).
fn field_type(sql_type: &str) -> Option<FieldType> {
    Some(match sql_type {
        "real" | "float4" | "float8" | "double" | "double precision" | "float" | "numeric"
        | "decimal" => FieldType::Float,
        "smallint" | "int2" | "int" | "integer" | "int4" | "bigint" | "int8" => FieldType::Integer,
        "boolean" | "bool" => FieldType::Boolean,
        "text" | "varchar" | "character varying" | "char" | "character" | "string" | "bpchar" => {
            FieldType::String
        }
        _ => return None,
    })
}

/// `VARCHAR(20)` → `varchar`, `NUMERIC(10,2)` → `numeric`.
fn base_type(display: &str) -> String {
    let lower = display.to_ascii_lowercase();
    match lower.split_once('(') {
        Some((head, tail)) => {
            let rest = tail.split_once(')').map_or("", |(_, rest)| rest);
            format!("{}{}", head.trim_end(), rest).trim().to_owned()
        }
        None => lower.trim().to_owned(),
    }
}

fn alter_table(target: &SessionTarget, alter: &AlterTable) -> Result<()> {
    let table = table_name(target, &alter.name)?;
    let storage = storage_name(&target.database, &table);
    if target.storage.schema(&storage).is_none() {
        if crate::plain_ddl::exists(target, &table)? {
            for operation in &alter.operations {
                let change = match operation {
                    AlterTableOperation::RenameTable { .. } => "rename",
                    AlterTableOperation::RenameColumn { .. } => "rename a column of",
                    AlterTableOperation::DropColumn { .. } => "drop a column of",
                    _ => continue,
                };
                crate::views::refuse_if_named(target, &table, change)?;
            }
            return crate::plain_ddl::alter(target, &table, &alter.operations);
        }
        if alter.if_exists {
            return Ok(());
        }
        return Err(Error::UndefinedTable { table });
    }
    for operation in &alter.operations {
        let AlterTableOperation::AddColumn {
            if_not_exists,
            column_def,
            ..
        } = operation
        else {
            return Err(Error::NotSupported {
                what: format!("ALTER TABLE … {operation} on a measurement"),
            });
        };
        let name = normalize(&column_def.name);
        let Role::Field(field_type) = column_role(&table, column_def, &name, false)? else {
            return Err(Error::InvalidDefinition {
                table,
                reason: "a measurement has one \"time\" column".into(),
            });
        };
        let added = target
            .storage
            .add_field(&storage, &name, field_type)
            .map_err(|error| Error::from(error).unqualified(&target.database))?;
        if !added && !if_not_exists {
            return Err(Error::DuplicateColumn {
                table,
                column: name,
            });
        }
    }
    Ok(())
}

/// `DROP TABLE [IF EXISTS] name, … [CASCADE]`: with `CASCADE`, the views that name the
/// tables go too; without it they make the statement fail (2BP01).
fn drop_tables(
    target: &SessionTarget,
    names: &[ObjectName],
    if_exists: bool,
    cascade: bool,
) -> Result<()> {
    let mut tables = Vec::with_capacity(names.len());
    let mut plain = Vec::new();
    let mut dropped = Vec::new();
    for name in names {
        let table = table_name(target, name)?;
        let storage = storage_name(&target.database, &table);
        if target.storage.schema(&storage).is_some() {
            tables.push(storage);
            dropped.push(table);
        } else if crate::plain_ddl::exists(target, &table)? {
            dropped.push(table.clone());
            plain.push(table);
        } else if crate::plain_ddl::is_view(target, &table)? {
            return Err(Error::WrongObjectType {
                reason: format!("\"{table}\" is not a table (use DROP VIEW to remove a view)"),
            });
        } else if !if_exists {
            // Postgres checks every name before dropping any.
            return Err(Error::UndefinedTable { table });
        }
    }
    crate::views::drop_dependents(target, &dropped, cascade)?;
    for storage in tables {
        target.storage.drop_measurement(&storage)?;
    }
    for table in plain {
        crate::plain_ddl::drop(target, &table)?;
    }
    Ok(())
}

/// `t`, `public.t` or `<database>.public.t`, with Postgres identifier case rules.
pub(crate) fn table_name(target: &SessionTarget, name: &ObjectName) -> Result<String> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|part| {
            part.as_ident()
                .map(normalize)
                .ok_or_else(|| Error::NotSupported {
                    what: format!("table name {name}"),
                })
        })
        .collect::<Result<_>>()?;
    let table = match parts.as_slice() {
        [table] => table,
        [schema, table] if schema == PUBLIC_SCHEMA => table,
        [database, schema, table] if schema == PUBLIC_SCHEMA && *database == target.database => {
            table
        }
        _ => {
            return Err(Error::NotSupported {
                what: format!(
                    "table name {name}: tables live in schema public of the connected database"
                ),
            });
        }
    };
    if table.is_empty() || table.contains(crate::DATABASE_SEPARATOR) || table.len() > 255 {
        return Err(Error::InvalidName {
            what: "table",
            name: table.clone(),
        });
    }
    Ok(table.clone())
}

/// Unquoted identifiers fold to lower case, as in Postgres; quoted ones keep their case.
pub fn normalize(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// A primary-key column written as an expression: `host` or `"Host"`.
fn expression_column(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => text.to_lowercase(),
    }
}

fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_types_map_to_field_types_without_modifiers() {
        assert_eq!(base_type("VARCHAR(20)"), "varchar");
        assert_eq!(base_type("NUMERIC(10,2)"), "numeric");
        assert_eq!(base_type("DOUBLE PRECISION"), "double precision");
        assert_eq!(
            base_type("TIMESTAMP(3) WITH TIME ZONE"),
            "timestamp with time zone"
        );
        assert_eq!(field_type("double precision"), Some(FieldType::Float));
        assert_eq!(field_type("int4"), Some(FieldType::Integer));
        assert_eq!(field_type("bool"), Some(FieldType::Boolean));
        assert_eq!(field_type("character varying"), Some(FieldType::String));
        assert_eq!(field_type("bytea"), None);
    }
}
