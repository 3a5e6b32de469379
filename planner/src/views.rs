//! Views: `CREATE [OR REPLACE] VIEW`, `DROP VIEW [IF EXISTS] [CASCADE]`, and statements
//! that read them.
//!
//! A view is kept in the catalog (`rusts_catalog::tables::View`) as the SQL text of its
//! query, its columns and the relations it names. A statement that names a view reads it
//! as a subquery: before planning, [`expand`] replaces each reference with
//! `(SELECT __rusts_view."source" AS "column", … FROM (<query>) AS __rusts_view) AS view`,
//! so DataFusion optimizes the view's query together with the statement around it (filters
//! pushed into it, unused columns dropped), and the PostgreSQL syntax in it is rewritten
//! like any other (`crate::pg_syntax`). As in PostgreSQL, a view's columns are fixed when it
//! is created: the outer select picks them by name, so a `SELECT *` view over a measurement
//! keeps its columns when writes add fields.
//!
//! As in PostgreSQL, `DROP VIEW` and `DROP TABLE` of a relation other views name fail with
//! 2BP01 unless `CASCADE`, which drops those views too; `CREATE OR REPLACE VIEW` may add
//! columns at the end but not drop, rename or retype them (42P16). PostgreSQL binds a view
//! to its tables' OIDs, so renaming a table or a column keeps its views working; views here
//! keep SQL text, so `ALTER TABLE … RENAME` and `DROP COLUMN` of a table a view names are
//! refused (2BP01) instead of breaking the view.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::DataFusionError;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr as LogicalExpr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{
    CreateTableOptions, CreateView, FromTable, Ident, ObjectName, Query, SelectItem, SetExpr,
    Statement, TableAlias, TableFactor, TableObject, Visit, VisitMut, Visitor, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use rusts_catalog::tables::{Catalog, View, ViewColumn};
use rusts_common::ErrorKind;

use crate::ddl::{SessionTarget, normalize, session_target, table_name};
use crate::error::{Error, Result};
use crate::storage_name;

/// The alias of a view's query inside its expansion.
const QUERY_ALIAS: &str = "__rusts_view";

/// Most view references one statement may expand (views naming views): more means a
/// damaged catalog with a cycle, reported as PostgreSQL reports infinite recursion.
const EXPANSIONS_MAX: usize = 1_000;

/// Nesting depth the parser accepts in a view's query, as for statements on the wire.
const PARSER_RECURSION_MAX: usize = 256;

/// A `CREATE VIEW` checked and planned, ready to enter the catalog ([`create`]).
#[derive(Debug)]
pub(crate) struct NewView {
    name: String,
    or_replace: bool,
    if_not_exists: bool,
    query: String,
    columns: Vec<ViewColumn>,
    depends_on: Vec<String>,
}

/// Checks `create` and plans its query on `context`, which fixes the view's columns.
pub(crate) async fn prepare(context: &SessionContext, create: &CreateView) -> Result<NewView> {
    let target = session_target(context)?;
    refuse_options(create)?;
    let name = table_name(&target, &create.name)?;
    let mut query = (*create.query).clone();
    let mut item_names = Vec::new();
    name_output_columns(&mut query.body, &mut item_names);
    let depends_on = relations_named(&target, &query)?;
    let mut statement = DFStatement::Statement(Box::new(Statement::Query(Box::new(query.clone()))));
    expand(context, &mut statement)?;
    crate::pg_syntax::rewrite(&mut statement)?;
    let plan = context
        .state()
        .statement_to_plan(statement)
        .await
        .map_err(|source| Error::Plan { source })?;
    let fields = plan.schema().fields();
    let listed: Vec<String> = create
        .columns
        .iter()
        .map(|column| {
            if column.data_type.is_some() || column.options.is_some() {
                return Err(Error::NotSupported {
                    what: format!("a type or options for view column {}", column.name),
                });
            }
            Ok(normalize(&column.name))
        })
        .collect::<Result<_>>()?;
    if listed.len() > fields.len() {
        return Err(Error::InvalidView {
            reason: "CREATE VIEW specifies more column names than columns".to_owned(),
            kind: ErrorKind::Syntax,
        });
    }
    let mut columns: Vec<ViewColumn> = Vec::with_capacity(fields.len());
    for (position, field) in fields.iter().enumerate() {
        let source = field.name().clone();
        let name = match listed.get(position) {
            Some(name) => name.clone(),
            None => default_column_name(&source, &item_names),
        };
        if columns.iter().any(|column| column.name == name) {
            return Err(Error::InvalidView {
                reason: format!("column \"{name}\" specified more than once"),
                kind: ErrorKind::DuplicateColumn,
            });
        }
        columns.push(ViewColumn {
            name,
            source,
            data_type: field.data_type().to_string(),
        });
    }
    Ok(NewView {
        name,
        or_replace: create.or_replace,
        if_not_exists: create.if_not_exists,
        query: query.to_string(),
        columns,
        depends_on,
    })
}

fn refuse_options(create: &CreateView) -> Result<()> {
    let refused = if create.materialized {
        Some("CREATE MATERIALIZED VIEW")
    } else if create.temporary {
        Some("CREATE TEMPORARY VIEW")
    } else if create.or_alter
        || create.secure
        || create.to.is_some()
        || create.params.is_some()
        || create.comment.is_some()
        || !create.cluster_by.is_empty()
        || create.with_no_schema_binding
        || !matches!(create.options, CreateTableOptions::None)
    {
        Some("these CREATE VIEW options")
    } else {
        None
    };
    match refused {
        Some(what) => Err(Error::NotSupported {
            what: what.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Gives each unnamed item of the query's first `SELECT` (which names the columns, also of
/// a set operation) its PostgreSQL output name as an alias, so that the planned columns
/// have the names PostgreSQL gives them. `names` gets each item's name, `None` for
/// wildcards.
fn name_output_columns(body: &mut SetExpr, names: &mut Vec<Option<String>>) {
    match body {
        SetExpr::Select(select) => {
            for item in &mut select.projection {
                let name = match item {
                    SelectItem::UnnamedExpr(expr) => {
                        let name = crate::output_names::expression_name(expr);
                        *item = SelectItem::ExprWithAlias {
                            expr: expr.clone(),
                            alias: Ident::with_quote('"', name.clone()),
                        };
                        Some(name)
                    }
                    SelectItem::ExprWithAlias { alias, .. } => Some(normalize(alias)),
                    _ => None,
                };
                names.push(name);
            }
        }
        SetExpr::Query(query) => name_output_columns(&mut query.body, names),
        SetExpr::SetOperation { left, .. } => name_output_columns(left, names),
        _ => {}
    }
}

/// A view column's name when no column list names it: the planned column's, except where
/// `crate::pg_syntax` gave a repeated name an internal one (`__rusts_column_<position>`),
/// where it is the item's own name again (and [`prepare`] then refuses the repetition).
fn default_column_name(source: &str, item_names: &[Option<String>]) -> String {
    source
        .strip_prefix(crate::pg_syntax::REPEATED_NAME_PREFIX)
        .and_then(|position| position.parse::<usize>().ok())
        .and_then(|position| item_names.get(position.checked_sub(1)?).cloned().flatten())
        .unwrap_or_else(|| source.to_owned())
}

/// The relations of the session's database `query` names (not its CTEs), each once.
fn relations_named(target: &SessionTarget, query: &Query) -> Result<Vec<String>> {
    let ctes = cte_names(query);
    let mut names: Vec<String> = Vec::new();
    let _ = datafusion::sql::sqlparser::ast::visit_relations(query, |relation| {
        if let Some(name) = own_relation(target, relation, &ctes)
            && !names.contains(&name)
        {
            names.push(name);
        }
        ControlFlow::<()>::Continue(())
    });
    Ok(names)
}

/// The name of the session database's relation `relation` denotes, unless it is one of
/// the statement's CTEs or in another schema.
fn own_relation(
    target: &SessionTarget,
    relation: &ObjectName,
    ctes: &HashSet<String>,
) -> Option<String> {
    let name = table_name(target, relation).ok()?;
    if relation.0.len() == 1 && ctes.contains(&name) {
        return None;
    }
    Some(name)
}

/// Names of every CTE of a statement. A CTE shadows a view of the same name (strictly only
/// within its query; a statement naming a view and a CTE of the same name elsewhere is rare
/// enough to read the CTE).
fn cte_names<V: Visit>(node: &V) -> HashSet<String> {
    struct Ctes(HashSet<String>);
    impl Visitor for Ctes {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if let Some(with) = &query.with {
                for cte in &with.cte_tables {
                    self.0.insert(normalize(&cte.alias.name));
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut ctes = Ctes(HashSet::new());
    let _ = node.visit(&mut ctes);
    ctes.0
}

/// Adds (or, with `OR REPLACE`, replaces) the view `new` describes.
pub(crate) fn create(target: &SessionTarget, new: NewView) -> Result<()> {
    let measurement_exists = target
        .storage
        .schema(&storage_name(&target.database, &new.name))
        .is_some();
    target.catalog.change(&target.storage, |catalog| {
        let existing = catalog
            .views
            .iter()
            .position(|view| view.database == target.database && view.name == new.name);
        let Some(position) = existing else {
            if measurement_exists || crate::index_ddl::relation_exists(target, catalog, &new.name) {
                return Err(Error::TableExists { table: new.name });
            }
            let oid = catalog.allocate_oid(|_| false);
            catalog.views.push(View {
                oid,
                database: target.database.clone(),
                name: new.name,
                query: new.query,
                columns: new.columns,
                depends_on: new.depends_on,
            });
            return Ok((Vec::new(), ()));
        };
        if new.if_not_exists {
            return Ok((Vec::new(), ()));
        }
        if !new.or_replace {
            return Err(Error::TableExists { table: new.name });
        }
        check_replacement(&catalog.views[position], &new)?;
        if reaches(catalog, &target.database, &new.depends_on, &new.name) {
            return Err(Error::InvalidView {
                reason: format!(
                    "infinite recursion detected in rules for relation \"{}\"",
                    new.name
                ),
                kind: ErrorKind::InvalidObjectDefinition,
            });
        }
        let view = &mut catalog.views[position];
        view.query = new.query;
        view.columns = new.columns;
        view.depends_on = new.depends_on;
        Ok((Vec::new(), ()))
    })
}

/// PostgreSQL's rule for `CREATE OR REPLACE VIEW`: the new query has the old columns
/// first, with the same names and types, and may add others after them.
fn check_replacement(old: &View, new: &NewView) -> Result<()> {
    let invalid = |reason: String| Error::InvalidView {
        reason,
        kind: ErrorKind::InvalidDefinition,
    };
    for (position, column) in old.columns.iter().enumerate() {
        let Some(replacement) = new.columns.get(position) else {
            return Err(invalid("cannot drop columns from view".to_owned()));
        };
        if replacement.name != column.name {
            return Err(invalid(format!(
                "cannot change name of view column \"{}\" to \"{}\"",
                column.name, replacement.name
            )));
        }
        if replacement.data_type != column.data_type {
            return Err(invalid(format!(
                "cannot change data type of view column \"{}\" from {} to {}",
                column.name, column.data_type, replacement.data_type
            )));
        }
    }
    Ok(())
}

/// Whether `target` is among `names` or the relations the views among them name,
/// transitively.
fn reaches(catalog: &Catalog, database: &str, names: &[String], target: &str) -> bool {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut frontier: Vec<&str> = names.iter().map(String::as_str).collect();
    while let Some(name) = frontier.pop() {
        if name == target {
            return true;
        }
        if seen.insert(name)
            && let Some(view) = catalog.view(database, name)
        {
            frontier.extend(view.depends_on.iter().map(String::as_str));
        }
    }
    false
}

/// `DROP VIEW [IF EXISTS] name, … [CASCADE]`.
pub(crate) fn drop(
    target: &SessionTarget,
    names: &[ObjectName],
    if_exists: bool,
    cascade: bool,
) -> Result<()> {
    let names = names
        .iter()
        .map(|name| table_name(target, name))
        .collect::<Result<Vec<_>>>()?;
    target.catalog.change(&target.storage, |catalog| {
        let mut dropping = Vec::new();
        for name in names {
            if catalog.view(&target.database, &name).is_some() {
                dropping.push(name);
            } else if crate::index_ddl::relation_exists(target, catalog, &name) {
                return Err(Error::WrongObjectType {
                    reason: format!("\"{name}\" is not a view (use DROP TABLE to remove a table)"),
                });
            } else if !if_exists {
                // PostgreSQL checks every name before dropping any.
                return Err(Error::UndefinedView { view: name });
            }
        }
        remove_with_dependents(catalog, &target.database, &dropping, "view", cascade)?;
        Ok((Vec::new(), ()))
    })
}

/// Before `DROP TABLE` of `tables` (or a change that would break the views naming them):
/// 2BP01 when views name them, unless `cascade`, which drops those views.
pub(crate) fn drop_dependents(
    target: &SessionTarget,
    tables: &[String],
    cascade: bool,
) -> Result<()> {
    let catalog = target.catalog.current(&target.storage)?;
    let dependents = catalog.dependent_views(&target.database, tables);
    if dependents.is_empty() {
        return Ok(());
    }
    refuse_dependents(&dependents, tables, "table", cascade)?;
    target.catalog.change(&target.storage, |catalog| {
        let dependents = catalog.dependent_views(&target.database, tables);
        catalog
            .views
            .retain(|view| view.database != target.database || !dependents.contains(&view.name));
        Ok((Vec::new(), ()))
    })
}

/// 2BP01 for `ALTER TABLE` operations that would break views naming `table`.
pub(crate) fn refuse_if_named(target: &SessionTarget, table: &str, change: &str) -> Result<()> {
    let catalog = target.catalog.current(&target.storage)?;
    let dependents = catalog.dependent_views(&target.database, &[table.to_owned()]);
    match dependents.first() {
        Some(view) => Err(Error::DependentObjects {
            reason: format!(
                "cannot {change} table {table} because view {view} depends on it (views keep \
                 their query's text: drop the view, change the table, create the view again)"
            ),
        }),
        None => Ok(()),
    }
}

/// Removes the views `names` of `database`, and with `cascade` the views that depend on
/// them; without it, 2BP01 when there are such views.
fn remove_with_dependents(
    catalog: &mut Catalog,
    database: &str,
    names: &[String],
    what: &str,
    cascade: bool,
) -> Result<()> {
    let dependents = catalog.dependent_views(database, names);
    refuse_dependents(&dependents, names, what, cascade)?;
    catalog.views.retain(|view| {
        view.database != database
            || !(names.contains(&view.name) || dependents.contains(&view.name))
    });
    Ok(())
}

fn refuse_dependents(
    dependents: &[String],
    names: &[String],
    what: &str,
    cascade: bool,
) -> Result<()> {
    match (dependents.first(), names.first()) {
        (Some(dependent), Some(name)) if !cascade => Err(Error::DependentObjects {
            reason: format!(
                "cannot drop {what} {name} because other objects depend on it (view \
                 {dependent} depends on it; use DROP … CASCADE to drop the dependent objects \
                 too)"
            ),
        }),
        _ => Ok(()),
    }
}

/// Replaces every view `statement` names with its query (see the module documentation).
/// Returns whether it replaced any: a plan of such a statement is not reused, since the
/// view may be replaced without a trace in the plan.
pub fn expand(context: &SessionContext, statement: &mut DFStatement) -> Result<bool> {
    let statement = match statement {
        DFStatement::Statement(statement) => statement.as_mut(),
        DFStatement::Explain(explain) => return expand(context, &mut explain.statement),
        _ => return Ok(false),
    };
    let Some(target) = context.state().config().get_extension::<SessionTarget>() else {
        return Ok(false);
    };
    let catalog = target.catalog.current(&target.storage)?;
    if catalog.views_of(&target.database).next().is_none() {
        return Ok(false);
    }
    refuse_changes(&target, &catalog, statement)?;
    let mut expander = Expander {
        target: &target,
        catalog: &catalog,
        ctes: cte_names(&*statement),
        expansions: 0,
    };
    match statement.visit(&mut expander) {
        ControlFlow::Continue(()) => Ok(expander.expansions > 0),
        ControlFlow::Break(error) => Err(error),
    }
}

/// `INSERT`, `UPDATE` and `DELETE` of a view: 0A000, as PostgreSQL answers for a view it
/// cannot update (views here are read-only).
fn refuse_changes(target: &SessionTarget, catalog: &Catalog, statement: &Statement) -> Result<()> {
    let (verb, name) = match statement {
        Statement::Insert(insert) => match &insert.table {
            TableObject::TableName(name) => ("insert into", name),
            TableObject::TableFunction(_) | TableObject::TableQuery(_) => return Ok(()),
        },
        Statement::Update(update) => match &update.table.relation {
            TableFactor::Table { name, .. } => ("update", name),
            _ => return Ok(()),
        },
        Statement::Delete(delete) => {
            let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) =
                &delete.from;
            match tables.first().map(|from| &from.relation) {
                Some(TableFactor::Table { name, .. }) => ("delete from", name),
                _ => return Ok(()),
            }
        }
        _ => return Ok(()),
    };
    match table_name(target, name) {
        Ok(view) if catalog.view(&target.database, &view).is_some() => Err(Error::NotSupported {
            what: format!("cannot {verb} view \"{view}\": views are read-only"),
        }),
        _ => Ok(()),
    }
}

struct Expander<'a> {
    target: &'a SessionTarget,
    catalog: &'a Catalog,
    ctes: HashSet<String>,
    expansions: usize,
}

impl VisitorMut for Expander<'_> {
    type Break = Error;

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Error> {
        let TableFactor::Table {
            name,
            alias,
            args: None,
            version: None,
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let Some(view) = own_relation(self.target, name, &self.ctes)
            .and_then(|name| self.catalog.view(&self.target.database, &name))
        else {
            return ControlFlow::Continue(());
        };
        self.expansions += 1;
        if self.expansions > EXPANSIONS_MAX {
            return ControlFlow::Break(Error::InvalidView {
                reason: format!(
                    "infinite recursion detected in rules for relation \"{}\"",
                    view.name
                ),
                kind: ErrorKind::InvalidObjectDefinition,
            });
        }
        let subquery = match view_query(view) {
            Ok(subquery) => subquery,
            Err(error) => return ControlFlow::Break(error),
        };
        let alias = alias.take().unwrap_or_else(|| TableAlias {
            explicit: true,
            name: Ident::with_quote('"', view.name.clone()),
            columns: Vec::new(),
            at: None,
        });
        *factor = TableFactor::Derived {
            lateral: false,
            subquery: Box::new(subquery),
            alias: Some(alias),
            sample: None,
        };
        ControlFlow::Continue(())
    }
}

/// `SELECT __rusts_view."source" AS "column", … FROM (<query>) AS __rusts_view`.
fn view_query(view: &View) -> Result<Query> {
    let items = view
        .columns
        .iter()
        .map(|column| {
            format!(
                "{QUERY_ALIAS}.{} AS {}",
                quote(&column.source),
                quote(&column.name)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT {items} FROM ({}) AS {QUERY_ALIAS}", view.query);
    Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(PARSER_RECURSION_MAX)
        .try_with_sql(&sql)
        .and_then(|mut parser| parser.parse_query())
        .map(|query| *query)
        .map_err(|error| Error::Internal {
            what: format!(
                "the stored query of view \"{}\" does not parse: {error}",
                view.name
            ),
        })
}

/// `name` as a quoted identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A view as the catalog lists it (`information_schema.tables`, `information_schema.columns`):
/// its columns and definition. Statements never scan it: [`expand`] replaced each reference
/// to the view with its query before planning.
#[derive(Debug)]
pub(crate) struct ViewEntry {
    name: String,
    definition: String,
    schema: SchemaRef,
}

impl ViewEntry {
    pub(crate) fn new(view: &View) -> Self {
        let fields: Vec<Field> = view
            .columns
            .iter()
            .map(|column| {
                let data_type = column
                    .data_type
                    .parse::<DataType>()
                    .unwrap_or(DataType::Utf8);
                Field::new(&column.name, data_type, true)
            })
            .collect();
        Self {
            name: view.name.clone(),
            definition: view.query.clone(),
            schema: Arc::new(Schema::new(fields)),
        }
    }

    fn read_only(&self, verb: &str) -> DataFusionError {
        DataFusionError::External(Box::new(Error::NotSupported {
            what: format!("cannot {verb} view \"{}\": views are read-only", self.name),
        }))
    }
}

#[async_trait::async_trait]
impl TableProvider for ViewEntry {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn get_table_definition(&self) -> Option<&str> {
        Some(&self.definition)
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[LogicalExpr],
        _limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::External(Box::new(Error::Internal {
            what: format!("view \"{}\" was not expanded before planning", self.name),
        })))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&LogicalExpr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![
            TableProviderFilterPushDown::Unsupported;
            filters.len()
        ])
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        _input: Arc<dyn ExecutionPlan>,
        _insert_op: InsertOp,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        Err(self.read_only("insert into"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::ast::Statement;

    fn query(sql: &str) -> Query {
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .pop()
            .unwrap();
        let Statement::Query(query) = statement else {
            panic!("not a query: {sql}");
        };
        *query
    }

    #[test]
    fn unnamed_items_of_the_first_select_get_their_postgres_names() {
        let mut q = query(
            "SELECT a, t.b, count(*), 1 + 2, c AS d, * FROM t UNION SELECT x, y, z, w, v, u FROM s",
        );
        let mut names = Vec::new();
        name_output_columns(&mut q.body, &mut names);
        assert_eq!(
            q.to_string(),
            "SELECT a AS \"a\", t.b AS \"b\", count(*) AS \"count\", 1 + 2 AS \"?column?\", c AS d, * \
             FROM t UNION SELECT x, y, z, w, v, u FROM s"
        );
        let expected = ["a", "b", "count", "?column?", "d"]
            .map(|name| Some(name.to_owned()))
            .into_iter()
            .chain([None])
            .collect::<Vec<_>>();
        assert_eq!(names, expected);
        assert_eq!(default_column_name("__rusts_column_5", &names), "d");
        assert_eq!(default_column_name("col0", &names), "col0");
    }

    #[test]
    fn a_view_reads_its_columns_by_name_from_its_query() {
        let view = View {
            oid: 1,
            database: "rusts".to_owned(),
            name: "v".to_owned(),
            query: "SELECT * FROM t".to_owned(),
            columns: vec![ViewColumn {
                name: "Odd \"name\"".to_owned(),
                source: "a".to_owned(),
                data_type: DataType::Int64.to_string(),
            }],
            depends_on: vec!["t".to_owned()],
        };
        assert_eq!(
            view_query(&view).unwrap().to_string(),
            "SELECT __rusts_view.\"a\" AS \"Odd \"\"name\"\"\" FROM (SELECT * FROM t) AS __rusts_view"
        );
    }

    #[test]
    fn column_types_survive_their_text_form() {
        for data_type in [
            DataType::Int64,
            DataType::Utf8,
            DataType::Float64,
            DataType::Boolean,
            DataType::Decimal128(38, 10),
            DataType::Date32,
            DataType::Timestamp(
                datafusion::arrow::datatypes::TimeUnit::Nanosecond,
                Some("UTC".into()),
            ),
            DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None),
            DataType::UInt32,
            DataType::Binary,
        ] {
            assert_eq!(
                data_type.to_string().parse::<DataType>().unwrap(),
                data_type
            );
        }
    }
}
