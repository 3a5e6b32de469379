//! The "newest first" rewrite: a physical optimizer rule that answers a top-k over time
//! (`ORDER BY time DESC LIMIT n`, or `GROUP BY date_trunc('minute', time) … ORDER BY 1 DESC
//! LIMIT n`) from a scan in time order, so the query stops reading once it has its rows
//! instead of reading every row and keeping the best `n`.
//!
//! The rule looks for a sort with a fetch (`SortExec` with `fetch`, alone or under the
//! `SortPreservingMergeExec` that merges its partitions, possibly through projections) over
//! a chain of nodes that keep a single ordered stream meaningful: projections, filters,
//! cooperative-scheduling wrappers, repartitioning and partition merges (dropped: the
//! ordered scan is one partition), and at most one aggregation without grouping sets or
//! order-sensitive aggregates (its `Partial` and `Final` stages become one `Single` stage),
//! ending at a measurement scan without a limit. It rebuilds that chain over the scan read
//! in time order (`ScanOrder::TimeDescending` or `TimeAscending`, see the storage's
//! `time_order.rs`), and lets DataFusion's equivalence properties decide whether the result
//! is ordered as the sort asks:
//! - fully: the sort becomes a limit, and the aggregate (now in sorted mode) emits each
//!   group as soon as the next one starts, so only the newest windows are read;
//! - on the first sort key only (e.g. `ORDER BY minute DESC, host`): the sort stays, and
//!   its top-k stops once the first key moves past the `n`th row;
//! - otherwise the plan is left as it was.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::limit::GlobalLimitExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::{
    ExecutionPlan, ExecutionPlanProperties, replace_children_if_necessary,
};

use crate::scan_exec::MeasurementScanExec;

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct TopKInTimeOrder;

impl PhysicalOptimizerRule for TopKInTimeOrder {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_down(|node| match rewrite(&node)? {
            Some(rewritten) => Ok(Transformed::yes(rewritten)),
            None => Ok(Transformed::no(node)),
        })
        .data()
    }

    fn name(&self) -> &str {
        "rusts_top_k_in_time_order"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The sort's ordering, fetch and input when `node` is a top-k (a sort with a fetch).
fn top_k(node: &Arc<dyn ExecutionPlan>) -> Option<(LexOrdering, usize, Arc<dyn ExecutionPlan>)> {
    if let Some(merge) = node.downcast_ref::<SortPreservingMergeExec>() {
        let fetch = merge.fetch()?;
        let input = without_partition_sort(merge.input())?;
        return Some((merge.expr().clone(), fetch, input));
    }
    let sort = node.downcast_ref::<SortExec>()?;
    if sort.preserve_partitioning() && sort.input().output_partitioning().partition_count() > 1 {
        return None;
    }
    Some((sort.expr().clone(), sort.fetch()?, Arc::clone(sort.input())))
}

/// The input of a merge of per-partition top-ks without the per-partition sort (it is
/// found under projections), or `None` when there is none.
fn without_partition_sort(plan: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
    if let Some(sort) = plan.downcast_ref::<SortExec>() {
        return (sort.preserve_partitioning() && sort.fetch().is_some())
            .then(|| Arc::clone(sort.input()));
    }
    if plan.is::<ProjectionExec>() {
        let child = without_partition_sort(&single_child(plan)?)?;
        return replace_children_if_necessary(Arc::clone(plan), vec![child]).ok();
    }
    None
}

/// The top-k answered from a time-ordered scan, or `None` when the rule does not apply.
fn rewrite(node: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let Some((ordering, fetch, input)) = top_k(node) else {
        return Ok(None);
    };
    let first = ordering.first().clone();
    for descending in [first.options.descending, !first.options.descending] {
        let Some(candidate) = rebuild(&input, descending, &mut None)? else {
            return Ok(None);
        };
        let properties = candidate.equivalence_properties();
        if properties.ordering_satisfy(ordering.iter().cloned())? {
            return Ok(Some(Arc::new(GlobalLimitExec::new(
                candidate,
                0,
                Some(fetch),
            ))));
        }
        if properties.ordering_satisfy([first.clone()])? {
            let sort = SortExec::new(ordering, candidate).with_fetch(Some(fetch));
            return Ok(Some(Arc::new(sort)));
        }
    }
    Ok(None)
}

/// `plan` over a time-ordered scan in one partition, or `None` when `plan` holds a node that
/// could not keep the order. `partial` carries a `Partial` aggregation down to its scan side
/// and back up to the `Final` stage that replaces both.
fn rebuild(
    plan: &Arc<dyn ExecutionPlan>,
    descending: bool,
    partial: &mut Option<AggregateExec>,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    if let Some(scan) = plan.downcast_ref::<MeasurementScanExec>() {
        return Ok(scan
            .time_ordered(descending)
            .map(|scan| Arc::new(scan) as _));
    }
    let Some(child) = single_child(plan) else {
        return Ok(None);
    };
    if plan.is::<RepartitionExec>() || plan.is::<CoalescePartitionsExec>() {
        return rebuild(&child, descending, partial);
    }
    if plan.is::<CooperativeExec>() || plan.is::<ProjectionExec>() || plan.is::<FilterExec>() {
        let Some(child) = rebuild(&child, descending, partial)? else {
            return Ok(None);
        };
        return replace_children_if_necessary(Arc::clone(plan), vec![child]).map(Some);
    }
    let Some(aggregate) = plan.downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    // An order-sensitive aggregate (`array_agg(x ORDER BY y)`) was given its input order by
    // the optimizer, which has run: it must keep the plan it was given.
    let order_sensitive = aggregate
        .aggr_expr()
        .iter()
        .any(|function| !function.order_bys().is_empty());
    if aggregate.group_expr().has_grouping_set() || order_sensitive {
        return Ok(None);
    }
    match aggregate.mode() {
        AggregateMode::Partial => {
            // Rebuilt by the `Final` stage above; this node only passes its input up.
            *partial = Some(aggregate.clone());
            rebuild(&child, descending, partial)
        }
        AggregateMode::Single | AggregateMode::SinglePartitioned => {
            let Some(child) = rebuild(&child, descending, partial)? else {
                return Ok(None);
            };
            single(aggregate, child).map(Some)
        }
        AggregateMode::Final | AggregateMode::FinalPartitioned => {
            let mut below = None;
            let Some(child) = rebuild(&child, descending, &mut below)? else {
                return Ok(None);
            };
            match below {
                Some(first_stage) => single(&first_stage, child).map(Some),
                None => Ok(None),
            }
        }
        _ => Ok(None),
    }
}

/// `aggregate`'s grouping and aggregates in one stage over `input`.
fn single(
    aggregate: &AggregateExec,
    input: Arc<dyn ExecutionPlan>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = input.schema();
    let stage = AggregateExec::try_new(
        AggregateMode::Single,
        aggregate.group_expr().clone(),
        aggregate.aggr_expr().to_vec(),
        aggregate.filter_expr().to_vec(),
        input,
        schema,
    )?;
    Ok(Arc::new(stage))
}

fn single_child(plan: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
    match plan.children().as_slice() {
        [child] => Some(Arc::clone(child)),
        _ => None,
    }
}

/// The ordering a time-ordered scan declares: `time` in the given direction.
pub(crate) fn time_ordering(
    schema: &datafusion::arrow::datatypes::Schema,
    descending: bool,
) -> Option<PhysicalSortExpr> {
    let index = schema.index_of("time").ok()?;
    let column = datafusion::physical_expr::expressions::Column::new("time", index);
    Some(PhysicalSortExpr::new(
        Arc::new(column),
        datafusion::arrow::compute::SortOptions {
            descending,
            nulls_first: descending,
        },
    ))
}
