//! Physical plans of a session's recent queries, keyed by their exact SQL text, so that a
//! query sent again (a dashboard panel, a probe, a benchmark loop) runs without being parsed,
//! planned and optimized again, which is most of the cost of a short query on DataFusion.
//! Oracle's and SQL Server's plan caches key ad-hoc statements the same way.
//!
//! Only row-returning statements are kept, sent alone in a simple query or parsed without
//! parameters in the extended protocol (which still parses and describes at `Parse`, and
//! reuses the plan at `Execute`), and only plans that `rusts_planner::reuse` allows (immutable functions only, measurements only).
//! An entry is dropped when a measurement it scans changed columns, after
//! [`PLAN_CACHE_TTL`] (so scans are sized for the data again), and the whole cache is
//! cleared by any session command (`SET`, `RESET`, …) or time-zone change, since settings
//! shape plans. At most [`PLAN_CACHE_ENTRIES`] plans of at most [`PLAN_CACHE_SQL_BYTES_MAX`]
//! bytes of text each are kept; the oldest goes first.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::physical_plan::ExecutionPlan;

/// Plans kept per session. A dashboard refreshes a few dozen distinct queries per
/// connection; plans are a few kilobytes each.
pub(crate) const PLAN_CACHE_ENTRIES: usize = 64;
/// Longest SQL text kept as a key (longer texts are planned each time).
pub(crate) const PLAN_CACHE_SQL_BYTES_MAX: usize = 16 * 1024;
/// How long a plan is reused before the text is planned again.
pub(crate) const PLAN_CACHE_TTL: Duration = Duration::from_secs(60);

/// A plan to run again, with what is needed to answer the client as the first run did.
#[derive(Debug, Clone)]
pub(crate) struct CachedPlan {
    pub(crate) plan: Arc<dyn ExecutionPlan>,
    /// The `CommandComplete` tag (`SELECT`, `SHOW`, …).
    pub(crate) tag: &'static str,
    pub(crate) column_names: Option<Vec<String>>,
    created: Instant,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct PlanCache {
    entries: HashMap<String, CachedPlan>,
    /// Keys, oldest insertion first.
    order: VecDeque<String>,
}

impl PlanCache {
    /// The plan for `sql`, if one is kept and still valid.
    pub(crate) fn get(&mut self, sql: &str) -> Option<CachedPlan> {
        let entry = self.entries.get(sql)?;
        if entry.created.elapsed() < PLAN_CACHE_TTL && rusts_planner::reuse::is_current(&entry.plan)
        {
            return Some(entry.clone());
        }
        self.entries.remove(sql);
        self.order.retain(|key| key != sql);
        None
    }

    /// Keeps `plan` for `sql`, evicting the oldest entry when full.
    pub(crate) fn insert(
        &mut self,
        sql: &str,
        plan: Arc<dyn ExecutionPlan>,
        tag: &'static str,
        column_names: Option<Vec<String>>,
    ) {
        if sql.len() > PLAN_CACHE_SQL_BYTES_MAX {
            return;
        }
        let entry = CachedPlan {
            plan,
            tag,
            column_names,
            created: Instant::now(),
        };
        if self.entries.insert(sql.to_owned(), entry).is_some() {
            self.order.retain(|key| key != sql);
        }
        self.order.push_back(sql.to_owned());
        while self.order.len() > PLAN_CACHE_ENTRIES {
            if let Some(oldest) = self.order.pop_front() {
                self.entries.remove(&oldest);
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Schema;
    use datafusion::physical_plan::empty::EmptyExec;

    fn plan() -> Arc<dyn ExecutionPlan> {
        Arc::new(EmptyExec::new(Arc::new(Schema::empty())))
    }

    #[test]
    fn keeps_at_most_the_newest_entries_and_no_long_texts() {
        let mut cache = PlanCache::default();
        for i in 0..PLAN_CACHE_ENTRIES + 5 {
            cache.insert(&format!("SELECT {i}"), plan(), "SELECT", None);
        }
        assert_eq!(cache.len(), PLAN_CACHE_ENTRIES);
        assert!(cache.get("SELECT 0").is_none(), "the oldest went first");
        assert!(
            cache
                .get(&format!("SELECT {}", PLAN_CACHE_ENTRIES + 4))
                .is_some()
        );
        // Inserting a key again does not count it twice.
        cache.insert("SELECT 10", plan(), "SELECT", None);
        assert_eq!(cache.len(), PLAN_CACHE_ENTRIES);
        assert_eq!(cache.order.len(), PLAN_CACHE_ENTRIES);
        let long = format!("SELECT '{}'", "x".repeat(PLAN_CACHE_SQL_BYTES_MAX));
        cache.insert(&long, plan(), "SELECT", None);
        assert!(cache.get(&long).is_none());
        cache.clear();
        assert_eq!(cache.len(), 0);
    }
}
