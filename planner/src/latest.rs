//! The "last point" rewrite: a physical optimizer rule that lets a measurement scan return
//! only each series' newest row when the aggregate above it needs nothing else.
//!
//! `SELECT DISTINCT ON (host) … ORDER BY host, time DESC` (and `first_value(x ORDER BY time
//! DESC)` / `last_value(x ORDER BY time)` grouped by tags) becomes an aggregate whose every
//! value is taken from the newest row of its group. A group (a combination of tag values)
//! is a set of whole series, so its newest row is the newest of its series' newest rows:
//! the scan may return one row per series, which it reads backwards from each series'
//! newest chunk (see `ScanRequest::latest`), instead of every row.
//!
//! The rule fires only when that is exact:
//! - the aggregate is the first (`Partial`) or only (`Single`) stage, without grouping sets,
//!   `FILTER`, `DISTINCT` or `IGNORE NULLS`;
//! - it groups by tag columns only (or by nothing);
//! - every aggregate is `first_value` ordered by time descending or `last_value` ordered
//!   by time ascending, after any sort keys that are group columns (constant in a group);
//! - between it and the scan there are only nodes that pass rows through unchanged
//!   (repartitioning, cooperative scheduling): no filter, projection or
//!   limit, since those would have to see every row. Time and tag filters are exact in the
//!   scan and never appear as a separate filter; a field filter leaves a `FilterExec` and so
//!   keeps the ordinary plan.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::udaf::AggregateFunctionExpr;
use datafusion::physical_plan::{ExecutionPlan, replace_children_if_necessary};

use crate::scan_exec::MeasurementScanExec;

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct LatestRowPerSeries;

impl PhysicalOptimizerRule for LatestRowPerSeries {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_down(|node| {
            let Some(aggregate) = node.downcast_ref::<AggregateExec>() else {
                return Ok(Transformed::no(node));
            };
            match rewrite(&node, aggregate)? {
                Some(rewritten) => Ok(Transformed::yes(rewritten)),
                None => Ok(Transformed::no(node)),
            }
        })
        .data()
    }

    fn name(&self) -> &str {
        "rusts_latest_row_per_series"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The aggregate over a latest-rows scan, or `None` when the rule does not apply.
fn rewrite(
    node: &Arc<dyn ExecutionPlan>,
    aggregate: &AggregateExec,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let first_stage = matches!(
        aggregate.mode(),
        AggregateMode::Partial | AggregateMode::Single | AggregateMode::SinglePartitioned
    );
    let group_by = aggregate.group_expr();
    if !first_stage
        || group_by.has_grouping_set()
        || aggregate.filter_expr().iter().any(Option::is_some)
    {
        return Ok(None);
    }
    let Some(scan) = scan_below(aggregate.input()) else {
        return Ok(None);
    };
    if scan.is_latest() || scan.has_filters_or_limit() {
        return Ok(None);
    }
    let schema = aggregate.input().schema();
    let name_of = |expr: &Arc<dyn PhysicalExpr>| -> Option<String> {
        let column = expr.downcast_ref::<Column>()?;
        Some(schema.fields().get(column.index())?.name().clone())
    };
    let mut groups = Vec::new();
    for (expr, _) in group_by.expr() {
        match name_of(expr) {
            Some(name) if scan.is_tag(&name) => groups.push(name),
            _ => return Ok(None),
        }
    }
    let newest_wins =
        |function: &Arc<AggregateFunctionExpr>| takes_newest(function, &groups, &name_of);
    if aggregate.aggr_expr().is_empty() || !aggregate.aggr_expr().iter().all(newest_wins) {
        return Ok(None);
    }
    let input = replace_scan(aggregate.input())?;
    replace_children_if_necessary(Arc::clone(node), vec![input]).map(Some)
}

/// Whether `function` takes its value from the newest row of its group: `first_value`
/// ordered by time descending or `last_value` by time ascending, after any group columns.
fn takes_newest(
    function: &Arc<AggregateFunctionExpr>,
    groups: &[String],
    name_of: &dyn Fn(&Arc<dyn PhysicalExpr>) -> Option<String>,
) -> bool {
    let descending = match function.fun().name() {
        "first_value" => true,
        "last_value" => false,
        _ => return false,
    };
    if function.is_distinct() || function.ignore_nulls() {
        return false;
    }
    let decisive = function
        .order_bys()
        .iter()
        .find(|sort| name_of(&sort.expr).is_none_or(|name| !groups.contains(&name)));
    decisive.is_some_and(|sort| {
        name_of(&sort.expr).is_some_and(|name| name == "time")
            && sort.options.descending == descending
    })
}

/// The scan under `plan`, through nodes that pass every row through unchanged.
fn scan_below(plan: &Arc<dyn ExecutionPlan>) -> Option<&MeasurementScanExec> {
    if let Some(scan) = plan.downcast_ref::<MeasurementScanExec>() {
        return Some(scan);
    }
    if passes_rows_through(plan) {
        return plan.children().first().and_then(|child| scan_below(child));
    }
    None
}

fn passes_rows_through(plan: &Arc<dyn ExecutionPlan>) -> bool {
    plan.is::<RepartitionExec>() || plan.is::<CooperativeExec>()
}

/// `plan` with its scan reading latest rows only.
fn replace_scan(plan: &Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    if let Some(scan) = plan.downcast_ref::<MeasurementScanExec>() {
        return Ok(Arc::new(scan.latest()));
    }
    let children = plan
        .children()
        .into_iter()
        .map(replace_scan)
        .collect::<Result<Vec<_>>>()?;
    replace_children_if_necessary(Arc::clone(plan), children)
}
