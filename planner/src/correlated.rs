//! Subqueries DataFusion cannot turn into joins: correlated ones whose correlation is not
//! an equality (`(SELECT count(*) FROM t AS x WHERE x.b < t.b)`), and subqueries in
//! places its rewrites do not reach (inside `CASE`, under `OR`).
//!
//! DataFusion decorrelates what it can; its physical planner refuses the rest ("Physical
//! plan does not support logical expression ScalarSubquery"). PostgreSQL runs such a
//! subquery once per outer row. So does RusTs, after DataFusion's own rewrites had their
//! chance: [`EvaluateSubqueries`], the last optimizer rule, moves each remaining subquery
//! of a projection or filter into a [`SubqueryNode`] below it, which adds the subquery's
//! value as a column. [`SubqueryExec`] computes that column: for each input row it binds the
//! outer columns the subquery reads as literals, then plans and runs the subquery. Rows
//! with the same outer values share one run (a cache per execution, bounded by
//! [`CACHED_VALUES_MAX`]), so an uncorrelated `EXISTS` or `IN` runs once (DataFusion runs
//! uncorrelated scalar subqueries itself).
//!
//! Semantics are PostgreSQL's: a scalar subquery of no rows is NULL and of more than one
//! row an error (21000); `EXISTS` is whether there is a row; `x IN (subquery)` is true when
//! a value equals `x`, else NULL when `x` or a value is NULL, else false (`NOT IN` the
//! negation).

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, DFSchemaRef, DataFusionError, Result, ScalarValue};
use datafusion::execution::context::{QueryPlanner, SessionState};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{
    Expr, Extension, Filter, LogicalPlan, LogicalPlanBuilder, Projection, Subquery,
    UserDefinedLogicalNode, UserDefinedLogicalNodeCore,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, collect,
};
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};
use futures::StreamExt;

use crate::error::Error;

/// Most subquery results (values) one execution keeps for reuse by later rows with the same
/// outer values; beyond it, rows run their subquery without caching the result.
const CACHED_VALUES_MAX: usize = 1 << 20;

/// Numbers the columns [`SubqueryNode`]s add, so that nested ones never share a name.
static NEXT_COLUMN: AtomicU64 = AtomicU64::new(0);

/// The optimizer rule (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct EvaluateSubqueries;

impl OptimizerRule for EvaluateSubqueries {
    fn name(&self) -> &str {
        "rusts_evaluate_subqueries"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        match plan {
            LogicalPlan::Projection(projection) if projection.expr.iter().any(has_subquery) => {
                rewrite_projection(projection).map(Transformed::yes)
            }
            LogicalPlan::Filter(filter) if has_subquery(&filter.predicate) => {
                rewrite_filter(filter).map(Transformed::yes)
            }
            plan => Ok(Transformed::no(plan)),
        }
    }
}

/// Whether `expr` holds a subquery expression (not looking into subqueries' plans).
fn has_subquery(expr: &Expr) -> bool {
    let mut found = false;
    let _ = expr.apply(|expr| {
        if is_subquery(expr) {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// A subquery DataFusion's physical planner refuses: a correlated scalar subquery (it
/// runs uncorrelated ones itself, once), `EXISTS` and `IN`.
fn is_subquery(expr: &Expr) -> bool {
    match expr {
        Expr::ScalarSubquery(subquery) => !subquery.outer_ref_columns.is_empty(),
        Expr::Exists(_) | Expr::InSubquery(_) => true,
        _ => false,
    }
}

/// Replaces each subquery of `expr` with a column of the [`SubqueryNode`] it is moved to.
fn extract(expr: Expr, subqueries: &mut Vec<(String, Expr)>) -> Result<Expr> {
    expr.transform_up(|expr| {
        if !is_subquery(&expr) {
            return Ok(Transformed::no(expr));
        }
        let name = format!(
            "__rusts_subquery_{}",
            NEXT_COLUMN.fetch_add(1, Ordering::Relaxed)
        );
        subqueries.push((name.clone(), expr));
        Ok(Transformed::yes(Expr::Column(Column::new_unqualified(
            name,
        ))))
    })
    .map(|transformed| transformed.data)
}

fn rewrite_projection(projection: Projection) -> Result<LogicalPlan> {
    let mut subqueries = Vec::new();
    let mut exprs = Vec::with_capacity(projection.expr.len());
    for (expr, (qualifier, field)) in projection.expr.into_iter().zip(projection.schema.iter()) {
        let rewritten = extract(expr, &mut subqueries)?;
        // Keep the output column's name (and qualifier) as the subquery gave it.
        let rewritten = match rewritten {
            Expr::Column(ref column)
                if column.name == *field.name() && column.relation.as_ref() == qualifier =>
            {
                rewritten
            }
            Expr::Alias(_) => rewritten,
            other => other.alias_qualified(qualifier.cloned(), field.name()),
        };
        exprs.push(rewritten);
    }
    let input = SubqueryNode::plan(Arc::unwrap_or_clone(projection.input), subqueries)?;
    Ok(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(input),
    )?))
}

fn rewrite_filter(filter: Filter) -> Result<LogicalPlan> {
    let mut subqueries = Vec::new();
    let predicate = extract(filter.predicate, &mut subqueries)?;
    let columns: Vec<Expr> = filter
        .input
        .schema()
        .columns()
        .into_iter()
        .map(Expr::Column)
        .collect();
    let input = SubqueryNode::plan(Arc::unwrap_or_clone(filter.input), subqueries)?;
    LogicalPlanBuilder::from(input)
        .filter(predicate)?
        .project(columns)?
        .build()
}

/// Adds one column per subquery to its input's (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SubqueryNode {
    input: LogicalPlan,
    /// Each added column's name and the subquery expression that computes it.
    subqueries: Vec<(String, Expr)>,
    schema: DFSchemaRef,
}

impl SubqueryNode {
    /// The node over `input` computing `subqueries`, as a plan.
    fn plan(input: LogicalPlan, subqueries: Vec<(String, Expr)>) -> Result<LogicalPlan> {
        let mut fields: Vec<(Option<datafusion::common::TableReference>, Arc<Field>)> = input
            .schema()
            .iter()
            .map(|(qualifier, field)| (qualifier.cloned(), Arc::clone(field)))
            .collect();
        for (name, expr) in &subqueries {
            let data_type = match expr {
                Expr::ScalarSubquery(subquery) => subquery
                    .subquery
                    .schema()
                    .fields()
                    .first()
                    .map_or(DataType::Null, |field| field.data_type().clone()),
                _ => DataType::Boolean,
            };
            fields.push((None, Arc::new(Field::new(name, data_type, true))));
        }
        let schema = DFSchema::new_with_metadata(fields, input.schema().metadata().clone())?;
        Ok(LogicalPlan::Extension(Extension {
            node: Arc::new(Self {
                input,
                subqueries,
                schema: Arc::new(schema),
            }),
        }))
    }
}

impl PartialOrd for SubqueryNode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        // The schema follows from the input and the subqueries.
        (&self.input, &self.subqueries).partial_cmp(&(&other.input, &other.subqueries))
    }
}

impl UserDefinedLogicalNodeCore for SubqueryNode {
    fn name(&self) -> &str {
        "Subqueries"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    /// None: DataFusion checks after each optimizer rule that correlated subqueries appear
    /// only in projections, filters and aggregates, and each subquery is planned afresh
    /// (and optimized then) for each run anyway.
    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Subqueries: run per outer row:")?;
        for (name, expr) in &self.subqueries {
            write!(f, " {name}={expr}")?;
        }
        Ok(())
    }

    fn with_exprs_and_inputs(
        &self,
        _exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> Result<Self> {
        let input = inputs
            .pop()
            .ok_or_else(|| DataFusionError::Internal("Subqueries takes one input".to_owned()))?;
        Ok(Self {
            input,
            subqueries: self.subqueries.clone(),
            schema: Arc::clone(&self.schema),
        })
    }
}

/// DataFusion's query planner, with [`SubqueryNode`] planned as a [`SubqueryExec`].
#[derive(Debug, Default)]
pub(crate) struct RustsQueryPlanner;

#[async_trait]
impl QueryPlanner for RustsQueryPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(SubqueryPlanner)])
            .create_physical_plan(logical_plan, session)
            .await
    }
}

#[derive(Debug)]
struct SubqueryPlanner;

#[async_trait]
impl ExtensionPlanner for SubqueryPlanner {
    async fn plan_extension(
        &self,
        planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        session: &dyn Session,
        planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(node) = node.as_any().downcast_ref::<SubqueryNode>() else {
            return Ok(None);
        };
        let (Some(input), Some(logical_input)) = (physical_inputs.first(), logical_inputs.first())
        else {
            return Err(DataFusionError::Internal(
                "Subqueries takes one input".to_owned(),
            ));
        };
        let input_schema = logical_input.schema();
        let subqueries = node
            .subqueries
            .iter()
            .map(|(_, expr)| {
                let (kind, subquery) = match expr {
                    Expr::ScalarSubquery(subquery) => (Kind::Scalar, subquery),
                    Expr::Exists(exists) => (
                        Kind::Exists {
                            negated: exists.negated,
                        },
                        &exists.subquery,
                    ),
                    Expr::InSubquery(in_subquery) => {
                        let probe = planner.create_physical_expr(
                            &in_subquery.expr,
                            input_schema,
                            session,
                            planning_ctx,
                        )?;
                        (
                            Kind::In {
                                probe,
                                negated: in_subquery.negated,
                            },
                            &in_subquery.subquery,
                        )
                    }
                    other => {
                        return Err(DataFusionError::Internal(format!(
                            "not a subquery: {other}"
                        )));
                    }
                };
                Ok(PreparedSubquery {
                    kind,
                    outer: outer_columns(subquery, input_schema)?,
                    plan: Arc::clone(&subquery.subquery),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let schema = Arc::new(node.schema.as_arrow().clone());
        let state = session
            .as_any()
            .downcast_ref::<SessionState>()
            .ok_or_else(|| {
                DataFusionError::Internal("subqueries need a SessionState to plan".to_owned())
            })?;
        Ok(Some(Arc::new(SubqueryExec::new(
            Arc::clone(input),
            subqueries,
            schema,
            state.clone(),
        ))))
    }
}

/// The outer columns `subquery` reads, with their positions in the input.
fn outer_columns(subquery: &Subquery, input: &DFSchema) -> Result<Vec<OuterColumn>> {
    let mut columns: Vec<OuterColumn> = Vec::new();
    let mut found = Vec::new();
    subquery.subquery.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|expr| {
                if let Expr::OuterReferenceColumn(field, column) = expr {
                    found.push((Arc::clone(field), column.clone()));
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    for (field, column) in found {
        if columns.iter().any(|known| known.column == column) {
            continue;
        }
        // A column of a query further out is bound when that query runs this one.
        if let Ok(index) = input.index_of_column(&column) {
            columns.push(OuterColumn {
                column,
                data_type: field.data_type().clone(),
                index,
            });
        }
    }
    Ok(columns)
}

#[derive(Debug)]
struct OuterColumn {
    column: Column,
    data_type: DataType,
    index: usize,
}

#[derive(Debug)]
enum Kind {
    Scalar,
    Exists {
        negated: bool,
    },
    In {
        probe: Arc<dyn PhysicalExpr>,
        negated: bool,
    },
}

#[derive(Debug)]
struct PreparedSubquery {
    kind: Kind,
    outer: Vec<OuterColumn>,
    plan: Arc<LogicalPlan>,
}

/// Runs [`SubqueryNode`]'s subqueries per input row (see the module documentation).
#[derive(Debug)]
pub(crate) struct SubqueryExec {
    input: Arc<dyn ExecutionPlan>,
    subqueries: Arc<Vec<PreparedSubquery>>,
    state: Arc<SessionState>,
    properties: Arc<PlanProperties>,
}

impl SubqueryExec {
    fn new(
        input: Arc<dyn ExecutionPlan>,
        subqueries: Vec<PreparedSubquery>,
        schema: SchemaRef,
        state: SessionState,
    ) -> Self {
        let properties = PlanProperties::new(
            datafusion::physical_expr::EquivalenceProperties::new(schema),
            input.properties().partitioning.clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            input,
            subqueries: Arc::new(subqueries),
            state: Arc::new(state),
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for SubqueryExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubqueryExec: subqueries={}", self.subqueries.len())
    }
}

impl ExecutionPlan for SubqueryExec {
    fn name(&self) -> &'static str {
        "SubqueryExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        for subquery in self.subqueries.iter() {
            if let Kind::In { probe, .. } = &subquery.kind
                && f(probe)? == TreeNodeRecursion::Stop
            {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children
            .pop()
            .ok_or_else(|| DataFusionError::Internal("SubqueryExec takes one input".to_owned()))?;
        Ok(Arc::new(Self {
            input,
            subqueries: Arc::clone(&self.subqueries),
            state: Arc::clone(&self.state),
            properties: Arc::clone(&self.properties),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, Arc::clone(&context))?;
        let schema = Arc::clone(self.properties.eq_properties.schema());
        let evaluator = Arc::new(Evaluator {
            subqueries: Arc::clone(&self.subqueries),
            state: Arc::clone(&self.state),
            context,
            schema: Arc::clone(&schema),
            cache: Mutex::new(Cache::default()),
        });
        let stream = input.then(move |batch| {
            let evaluator = Arc::clone(&evaluator);
            async move { evaluator.extend(batch?).await }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// What a subquery gave for one set of outer values.
#[derive(Debug, Clone)]
enum Outcome {
    Scalar(ScalarValue),
    Exists(bool),
    /// The subquery's values, for `IN`.
    Values(Arc<Vec<ScalarValue>>),
}

impl Outcome {
    fn size(&self) -> usize {
        match self {
            Self::Values(values) => values.len().max(1),
            _ => 1,
        }
    }
}

/// Outcomes by subquery and outer values, for one execution.
#[derive(Debug, Default)]
struct Cache {
    outcomes: HashMap<(usize, Key), Outcome>,
    values: usize,
}

/// Outer values, hashable (`ScalarValue` hashes floats by bits).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key(Vec<ScalarValue>);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for value in &self.0 {
            value.hash(state);
        }
    }
}

struct Evaluator {
    subqueries: Arc<Vec<PreparedSubquery>>,
    state: Arc<SessionState>,
    context: Arc<TaskContext>,
    schema: SchemaRef,
    cache: Mutex<Cache>,
}

impl Evaluator {
    /// `batch` with one more column per subquery.
    async fn extend(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for (position, subquery) in self.subqueries.iter().enumerate() {
            let probes = match &subquery.kind {
                Kind::In { probe, .. } => {
                    Some(probe.evaluate(&batch)?.into_array(batch.num_rows())?)
                }
                _ => None,
            };
            let mut values = Vec::with_capacity(batch.num_rows());
            for row in 0..batch.num_rows() {
                let key = Key(subquery
                    .outer
                    .iter()
                    .map(|outer| ScalarValue::try_from_array(batch.column(outer.index), row))
                    .collect::<Result<_>>()?);
                let outcome = self.outcome(position, subquery, key).await?;
                let value = match (&subquery.kind, outcome) {
                    (Kind::Scalar, Outcome::Scalar(value)) => value,
                    (Kind::Exists { negated }, Outcome::Exists(found)) => {
                        ScalarValue::Boolean(Some(found != *negated))
                    }
                    (Kind::In { negated, .. }, Outcome::Values(set)) => {
                        let probe = match &probes {
                            Some(probes) => ScalarValue::try_from_array(probes, row)?,
                            None => ScalarValue::Null,
                        };
                        ScalarValue::Boolean(is_in(&probe, &set).map(|found| found != *negated))
                    }
                    _ => {
                        return Err(DataFusionError::Internal(
                            "subquery outcome of the wrong kind".to_owned(),
                        ));
                    }
                };
                values.push(value);
            }
            let field = self.schema.field(columns.len());
            let array = if values.is_empty() {
                datafusion::arrow::array::new_empty_array(field.data_type())
            } else {
                ScalarValue::iter_to_array(values)?
            };
            let array = if array.data_type() == field.data_type() {
                array
            } else {
                datafusion::arrow::compute::cast(&array, field.data_type())?
            };
            columns.push(array);
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }

    /// The outcome of subquery `position` for the outer values `key`, from the cache or
    /// by running it.
    async fn outcome(
        &self,
        position: usize,
        subquery: &PreparedSubquery,
        key: Key,
    ) -> Result<Outcome> {
        let cache_key = (position, key);
        if let Some(outcome) = self.lock().outcomes.get(&cache_key) {
            return Ok(outcome.clone());
        }
        let outcome = self.run(subquery, &cache_key.1).await?;
        let mut cache = self.lock();
        if cache.values + outcome.size() <= CACHED_VALUES_MAX {
            cache.values += outcome.size();
            cache.outcomes.insert(cache_key, outcome.clone());
        }
        Ok(outcome)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Plans and runs `subquery` with its outer columns bound to `key`.
    async fn run(&self, subquery: &PreparedSubquery, key: &Key) -> Result<Outcome> {
        let bound = bind(&subquery.plan, &subquery.outer, &key.0)?;
        let limited = match subquery.kind {
            Kind::Scalar => LogicalPlanBuilder::from(bound).limit(0, Some(2))?.build()?,
            Kind::Exists { .. } => LogicalPlanBuilder::from(bound).limit(0, Some(1))?.build()?,
            Kind::In { .. } => bound,
        };
        // The subquery was optimized with the statement; binding literals does not call for
        // another pass of the logical optimizer, the costliest step of planning it.
        let physical = self
            .state
            .query_planner()
            .create_physical_plan(&limited, self.state.as_ref())
            .await?;
        let batches = collect(physical, Arc::clone(&self.context)).await?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        Ok(match subquery.kind {
            Kind::Exists { .. } => Outcome::Exists(rows > 0),
            Kind::Scalar => {
                if rows > 1 {
                    return Err(DataFusionError::External(Box::new(
                        Error::CardinalityViolation,
                    )));
                }
                let value = batches
                    .iter()
                    .find(|batch| batch.num_rows() > 0)
                    .map(|batch| ScalarValue::try_from_array(batch.column(0), 0))
                    .transpose()?;
                let data_type = limited
                    .schema()
                    .fields()
                    .first()
                    .map_or(DataType::Null, |field| field.data_type().clone());
                Outcome::Scalar(match value {
                    Some(value) => value,
                    None => ScalarValue::try_from(&data_type)?,
                })
            }
            Kind::In { .. } => {
                let mut values = Vec::with_capacity(rows);
                for batch in &batches {
                    for row in 0..batch.num_rows() {
                        values.push(ScalarValue::try_from_array(batch.column(0), row)?);
                    }
                }
                Outcome::Values(Arc::new(values))
            }
        })
    }
}

/// SQL's `probe IN (values)`: true when one equals it, else NULL (`None`) when the probe or
/// a value is NULL, else false.
fn is_in(probe: &ScalarValue, values: &[ScalarValue]) -> Option<bool> {
    if values.is_empty() {
        return Some(false);
    }
    if probe.is_null() {
        return None;
    }
    let mut saw_null = false;
    for value in values {
        if value.is_null() {
            saw_null = true;
        } else if value == probe {
            return Some(true);
        }
    }
    if saw_null { None } else { Some(false) }
}

/// `plan` with each outer column of `outer` replaced by its value in `values`.
fn bind(plan: &LogicalPlan, outer: &[OuterColumn], values: &[ScalarValue]) -> Result<LogicalPlan> {
    let literal = |column: &Column| -> Option<Result<Expr>> {
        let position = outer.iter().position(|outer| outer.column == *column)?;
        let value = &values[position];
        let data_type = &outer[position].data_type;
        let value = if value.data_type() == *data_type {
            Ok(value.clone())
        } else {
            value.cast_to(data_type)
        };
        Some(value.map(|value| Expr::Literal(value, None)))
    };
    let unbound = |subquery: &Subquery| -> Subquery {
        let mut subquery = subquery.clone();
        forget_bound(&mut subquery, outer);
        subquery
    };
    let bound = plan.clone().transform_up_with_subqueries(|node| {
        // A subquery nested in this one, moved to a `SubqueryNode` of its own, may read the
        // same outer columns; that node does not show its subqueries as expressions.
        if let LogicalPlan::Extension(extension) = &node
            && let Some(nested) = extension.node.as_any().downcast_ref::<SubqueryNode>()
        {
            let subqueries = nested
                .subqueries
                .iter()
                .map(|(name, expr)| Ok((name.clone(), bind_subquery_expr(expr, outer, values)?)))
                .collect::<Result<Vec<_>>>()?;
            return Ok(Transformed::yes(LogicalPlan::Extension(Extension {
                node: Arc::new(SubqueryNode {
                    input: nested.input.clone(),
                    subqueries,
                    schema: Arc::clone(&nested.schema),
                }),
            })));
        }
        node.map_expressions(|expr| {
            expr.transform_up(|expr| match &expr {
                Expr::OuterReferenceColumn(_, column) => match literal(column) {
                    Some(literal) => literal.map(Transformed::yes),
                    None => Ok(Transformed::no(expr)),
                },
                Expr::ScalarSubquery(subquery) => {
                    Ok(Transformed::yes(Expr::ScalarSubquery(unbound(subquery))))
                }
                Expr::Exists(exists) => {
                    let mut exists = exists.clone();
                    exists.subquery = unbound(&exists.subquery);
                    Ok(Transformed::yes(Expr::Exists(exists)))
                }
                Expr::InSubquery(in_subquery) => {
                    let mut in_subquery = in_subquery.clone();
                    in_subquery.subquery = unbound(&in_subquery.subquery);
                    Ok(Transformed::yes(Expr::InSubquery(in_subquery)))
                }
                _ => Ok(Transformed::no(expr)),
            })
        })
    })?;
    Ok(bound.data)
}

/// Drops the columns of `outer` (now literals) from `subquery`'s outer references.
fn forget_bound(subquery: &mut Subquery, outer: &[OuterColumn]) {
    subquery.outer_ref_columns.retain(|expr| match expr {
        Expr::OuterReferenceColumn(_, column) => !outer.iter().any(|outer| outer.column == *column),
        _ => true,
    });
}

/// A subquery expression with `outer` bound to `values` in its plan.
fn bind_subquery_expr(expr: &Expr, outer: &[OuterColumn], values: &[ScalarValue]) -> Result<Expr> {
    let bind_in = |subquery: &Subquery| -> Result<Subquery> {
        let mut subquery = subquery.clone();
        subquery.subquery = Arc::new(bind(&subquery.subquery, outer, values)?);
        forget_bound(&mut subquery, outer);
        Ok(subquery)
    };
    Ok(match expr {
        Expr::ScalarSubquery(subquery) => Expr::ScalarSubquery(bind_in(subquery)?),
        Expr::Exists(exists) => {
            let mut exists = exists.clone();
            exists.subquery = bind_in(&exists.subquery)?;
            Expr::Exists(exists)
        }
        Expr::InSubquery(in_subquery) => {
            let mut in_subquery = in_subquery.clone();
            in_subquery.subquery = bind_in(&in_subquery.subquery)?;
            // The probe is over the nested node's input, which may read outer columns too.
            let probe = in_subquery
                .expr
                .as_ref()
                .clone()
                .transform_up(|expr| match &expr {
                    Expr::OuterReferenceColumn(_, column) => {
                        match outer.iter().position(|outer| outer.column == *column) {
                            Some(position) => Ok(Transformed::yes(Expr::Literal(
                                values[position].cast_to(&outer[position].data_type)?,
                                None,
                            ))),
                            None => Ok(Transformed::no(expr)),
                        }
                    }
                    _ => Ok(Transformed::no(expr)),
                })?;
            in_subquery.expr = Box::new(probe.data);
            Expr::InSubquery(in_subquery)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_follows_sql_three_valued_logic() {
        let int = |value: i64| ScalarValue::Int64(Some(value));
        let null = ScalarValue::Int64(None);
        assert_eq!(is_in(&int(1), &[int(1), int(2)]), Some(true));
        assert_eq!(is_in(&int(3), &[int(1), int(2)]), Some(false));
        assert_eq!(is_in(&int(3), &[int(1), null.clone()]), None);
        assert_eq!(is_in(&int(1), &[null.clone(), int(1)]), Some(true));
        assert_eq!(is_in(&null, &[int(1)]), None);
        assert_eq!(is_in(&null, &[]), Some(false), "nothing is in an empty set");
    }
}
