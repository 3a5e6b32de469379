//! Reusing a physical plan for a later run of the same statement text, which skips
//! DataFusion's parsing, planning and optimization (most of the cost of a short query; see
//! the wire crate's plan cache, which keeps the plans).
//!
//! A plan may be reused only when running it again is the same as planning the text again:
//! - the statement calls no function that is not immutable: `now()`, `current_date`,
//!   `random()`, `current_setting()`, … are folded or bound at planning time
//!   ([`is_deterministic`], checked on the plan before optimization);
//! - it reads nothing but measurements (or no table at all): every leaf is a measurement
//!   scan or a constant row ([`is_reusable`]). `information_schema`, `VALUES`, `EXPLAIN`
//!   and everything else are planned each time;
//! - every measurement it scans still has the columns it was planned with
//!   ([`is_current`]): a table planned with the fields and tags it had, so a field added
//!   by a later write (or a table dropped or recreated differently) plans the text again.
//!
//! Data is read when the plan runs, so new rows and series are always seen. Scans sized
//! for the data at planning time ([`crate::scan_exec`]) stay correct as it grows; a cache
//! bounds how long it keeps a plan so that the sizing is refreshed.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::execution_plan::reset_plan_states;
use datafusion::physical_plan::placeholder_row::PlaceholderRowExec;

use crate::scan_exec::MeasurementScanExec;

/// Whether every function `plan` calls is immutable (see the module documentation).
pub fn is_deterministic(plan: &LogicalPlan) -> bool {
    let mut deterministic = true;
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|inner| {
                if !is_immutable_call(inner) {
                    deterministic = false;
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })?;
        Ok(if deterministic {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    deterministic
}

fn is_immutable_call(expr: &Expr) -> bool {
    let volatility = match expr {
        Expr::ScalarFunction(call) => call.func.signature().volatility,
        Expr::AggregateFunction(call) => call.func.signature().volatility,
        Expr::WindowFunction(call) => call.fun.signature().volatility,
        _ => return true,
    };
    volatility == Volatility::Immutable
}

/// Whether `plan` reads only measurements or no table (see the module documentation).
pub fn is_reusable(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let mut reusable = true;
    let _ = plan.apply(|node| {
        if node.children().is_empty()
            && !(node.is::<MeasurementScanExec>()
                || node.is::<EmptyExec>()
                || node.is::<PlaceholderRowExec>())
        {
            reusable = false;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    reusable
}

/// Whether every measurement `plan` scans has the columns it was planned with.
pub fn is_current(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let mut current = true;
    let _ = plan.apply(|node| {
        if let Some(scan) = node.downcast_ref::<MeasurementScanExec>()
            && !scan.table_is_unchanged()
        {
            current = false;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    current
}

/// A copy of `plan` with fresh execution state and metrics, to run.
pub fn fresh_copy(plan: &Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    reset_plan_states(Arc::clone(plan))
}
