//! `CREATE DATABASE` and `DROP DATABASE`.
//!
//! A database exists when `CREATE DATABASE` made it (kept in the catalog), when it holds a
//! measurement or a plain table (line protocol's `db` / `bucket` creates one by writing), or
//! when it is the default database. Dropping one removes its measurements with their data,
//! its plain tables with their rows, and the catalog's entry.

use datafusion::sql::sqlparser::ast::ObjectName;
use rusts_catalog::tables::Catalog;
use rusts_storage::{TableChange, TableId};

use crate::ddl::{SessionTarget, normalize};
use crate::error::{Error, Result};
use crate::{DATABASE_SEPARATOR, DEFAULT_DATABASE, check_database_name};

/// Every database: the default one, those `CREATE DATABASE` made, and those holding a
/// measurement or a plain table; sorted.
pub(crate) fn databases(storage: &rusts_storage::Engine, catalog: &Catalog) -> Vec<String> {
    let mut databases: Vec<String> = storage
        .measurements()
        .iter()
        .filter_map(|name| {
            name.split_once(DATABASE_SEPARATOR)
                .map(|(database, _)| database.to_owned())
        })
        .chain(catalog.databases.iter().cloned())
        .chain(catalog.tables.iter().map(|table| table.database.clone()))
        .chain(std::iter::once(DEFAULT_DATABASE.to_owned()))
        .collect();
    databases.sort_unstable();
    databases.dedup();
    databases
}

fn database_name(name: &ObjectName) -> Result<String> {
    let [part] = name.0.as_slice() else {
        return Err(Error::InvalidName {
            what: "database",
            name: name.to_string(),
        });
    };
    let database = part
        .as_ident()
        .map(normalize)
        .ok_or_else(|| Error::InvalidName {
            what: "database",
            name: name.to_string(),
        })?;
    check_database_name(&database)?;
    Ok(database)
}

/// `CREATE DATABASE name`: 42P04 when it exists, unless `IF NOT EXISTS`.
pub(crate) fn create(target: &SessionTarget, name: &ObjectName, if_not_exists: bool) -> Result<()> {
    let database = database_name(name)?;
    target.catalog.change(&target.storage, |catalog| {
        if databases(&target.storage, catalog).contains(&database) {
            return if if_not_exists {
                Ok((Vec::new(), ()))
            } else {
                Err(Error::DatabaseExists { database })
            };
        }
        catalog.databases.push(database);
        Ok((Vec::new(), ()))
    })
}

/// `DROP DATABASE name`: 3D000 when it does not exist, unless `IF EXISTS`; 55006 for the
/// session's own database and for the default one, which always exists. Sessions connected
/// to the database are not refused (PostgreSQL refuses them unless `WITH (FORCE)`): they
/// see it empty from then on.
pub(crate) fn drop(target: &SessionTarget, name: &ObjectName, if_exists: bool) -> Result<()> {
    let database = database_name(name)?;
    if database == target.database {
        return Err(Error::ObjectInUse {
            reason: "cannot drop the currently open database".to_owned(),
        });
    }
    let catalog = target.catalog.current(&target.storage)?;
    if !databases(&target.storage, &catalog).contains(&database) {
        return if if_exists {
            Ok(())
        } else {
            Err(Error::UndefinedDatabase { database })
        };
    }
    if database == DEFAULT_DATABASE {
        return Err(Error::ObjectInUse {
            reason: format!("cannot drop database \"{database}\": it is the default database"),
        });
    }
    let prefix = format!("{database}{DATABASE_SEPARATOR}");
    for measurement in target.storage.measurements() {
        if measurement.starts_with(&prefix) {
            target.storage.drop_measurement(&measurement)?;
        }
    }
    target.catalog.change(&target.storage, |catalog| {
        let mut changes = Vec::new();
        catalog.tables.retain(|table| {
            let keep = table.database != database;
            if !keep {
                changes.push(TableChange::Drop {
                    id: TableId(u64::from(table.oid)),
                });
            }
            keep
        });
        catalog.databases.retain(|name| *name != database);
        catalog.views.retain(|view| view.database != database);
        Ok((changes, ()))
    })
}
