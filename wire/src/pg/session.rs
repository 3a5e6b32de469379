//! One client connection's state: its DataFusion context, parameters, and the interrupt
//! (cancel request or statement timeout) that stops the statement it is running.
//!
//! A `Session` lives in the connection's pgwire `SessionExtensions`, so it is dropped with
//! the connection. The cancel registry holds only a `Weak` to it: a cancel request can never
//! keep a closed session alive.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use datafusion::logical_expr::{LogicalPlan, SetVariable, Statement as PlanStatement};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::pg::error::{Error, Result};
use crate::pg::limits::PREPARED_STATEMENTS_MAX;
use crate::pg::plan_cache::{CachedPlan, PlanCache};
use crate::pg::settings::{Reports, Settings};

/// Who is connected, fixed at startup; read by `current_user()` and friends.
#[derive(Debug)]
pub(crate) struct SessionIdentity {
    pub(crate) database: String,
    pub(crate) user: String,
    /// Process id announced in `BackendKeyData`, returned by `pg_backend_pid()`.
    pub(crate) pid: i32,
}

/// Parameters shared between the session and its SQL functions (`set_config` writes them
/// from inside a query, so they cannot live behind the session alone).
#[derive(Debug)]
pub(crate) struct SessionVariables {
    pub(crate) identity: SessionIdentity,
    settings: Mutex<Settings>,
    /// `ParameterStatus` changes not yet sent to the client.
    pending_reports: Mutex<Reports>,
}

impl SessionVariables {
    pub(crate) fn new(identity: SessionIdentity, settings: Settings) -> Self {
        Self {
            identity,
            settings: Mutex::new(settings),
            pending_reports: Mutex::new(Vec::new()),
        }
    }

    /// The settings, locked. A panic while holding the lock cannot leave them half-written
    /// (every update is one map insert), so a poisoned lock is still safe to use.
    pub(crate) fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets a parameter and queues its `ParameterStatus` if the client must hear of it.
    pub(crate) fn set(&self, name: &str, value: &str) -> Result<()> {
        let report = self.settings().set(name, value)?;
        self.queue_reports(report);
        Ok(())
    }

    pub(crate) fn queue_reports(&self, reports: impl IntoIterator<Item = (String, String)>) {
        self.pending_reports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(reports);
    }

    /// Takes the queued `ParameterStatus` changes.
    pub(crate) fn take_reports(&self) -> Reports {
        std::mem::take(
            &mut *self
                .pending_reports
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

/// What stops the running statement: a cancel request fires the token, the deadline comes
/// from `statement_timeout`.
#[derive(Debug, Clone)]
struct Interrupt {
    token: CancellationToken,
    deadline: Option<Instant>,
}

/// A connected client's session.
pub(crate) struct Session {
    context: SessionContext,
    variables: Arc<SessionVariables>,
    interrupt: Mutex<Interrupt>,
    /// Names of prepared statements, for `DEALLOCATE ALL` and the per-session limit.
    prepared: Mutex<BTreeSet<String>>,
    /// Time zone last handed to DataFusion, so we only reconfigure it on change.
    applied_time_zone: Mutex<String>,
    /// The `COPY … FROM STDIN` in progress, between `CopyData` messages.
    copy_in: Mutex<Option<crate::pg::copy::CopyIn>>,
    /// Plans of recent queries, by SQL text.
    plans: Mutex<PlanCache>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Session")
            .field("session_id", &self.context.session_id())
            .field("variables", &self.variables)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(context: SessionContext, variables: Arc<SessionVariables>) -> Self {
        let interrupt = Interrupt {
            token: CancellationToken::new(),
            deadline: None,
        };
        Self {
            context,
            variables,
            interrupt: Mutex::new(interrupt),
            prepared: Mutex::new(BTreeSet::new()),
            applied_time_zone: Mutex::new(String::new()),
            copy_in: Mutex::new(None),
            plans: Mutex::new(PlanCache::default()),
        }
    }

    /// The plan kept for `sql`, if still valid (see `plan_cache.rs`).
    pub(crate) fn cached_plan(&self, sql: &str) -> Option<CachedPlan> {
        self.plans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sql)
    }

    /// Keeps a plan for `sql`.
    pub(crate) fn cache_plan(
        &self,
        sql: &str,
        plan: Arc<dyn ExecutionPlan>,
        tag: &'static str,
        column_names: Option<Vec<String>>,
    ) {
        self.plans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(sql, plan, tag, column_names);
    }

    /// Forgets every kept plan (settings or the catalog may have changed).
    pub(crate) fn clear_plans(&self) {
        self.plans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Takes the COPY in progress (put back with [`Self::put_copy_in`] between messages).
    pub(crate) fn take_copy_in(&self) -> Option<crate::pg::copy::CopyIn> {
        self.copy_in
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    pub(crate) fn put_copy_in(&self, copy: crate::pg::copy::CopyIn) {
        *self.copy_in.lock().unwrap_or_else(PoisonError::into_inner) = Some(copy);
    }

    pub(crate) fn context(&self) -> &SessionContext {
        &self.context
    }

    pub(crate) fn variables(&self) -> &Arc<SessionVariables> {
        &self.variables
    }

    /// Starts the clock for one statement (or one `Execute`): a fresh cancel token, so a
    /// cancel that arrived while idle is forgotten, and a deadline from `statement_timeout`.
    pub(crate) fn begin_statement(&self) {
        let timeout = self.variables.settings().statement_timeout();
        let interrupt = Interrupt {
            token: CancellationToken::new(),
            deadline: timeout.map(|timeout| Instant::now() + timeout),
        };
        *self
            .interrupt
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = interrupt;
    }

    /// Cancels whatever statement is running now; a no-op when idle, as in Postgres.
    pub(crate) fn cancel(&self) {
        self.interrupt
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .token
            .cancel();
    }

    /// Runs `work` unless the statement is cancelled or times out first. Dropping `work`
    /// drops the DataFusion stream inside it, which aborts its spawned tasks.
    pub(crate) async fn interruptible<F: Future>(&self, work: F) -> Result<F::Output> {
        let interrupt = self
            .interrupt
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let timeout = async {
            match interrupt.deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = interrupt.token.cancelled() => Err(Error::Canceled),
            () = timeout => Err(Error::StatementTimeout),
            output = work => Ok(output),
        }
    }

    /// Records a named prepared statement, refusing more than `PREPARED_STATEMENTS_MAX`.
    pub(crate) fn add_prepared(&self, name: &str) -> Result<()> {
        let mut prepared = self.prepared.lock().unwrap_or_else(PoisonError::into_inner);
        if !prepared.contains(name) && prepared.len() >= PREPARED_STATEMENTS_MAX {
            return Err(Error::LimitExceeded {
                what: "prepared statements in one session",
                limit: PREPARED_STATEMENTS_MAX,
            });
        }
        prepared.insert(name.to_owned());
        Ok(())
    }

    pub(crate) fn remove_prepared(&self, name: &str) -> bool {
        self.prepared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name)
    }

    /// Forgets every prepared statement and returns their names.
    pub(crate) fn take_prepared(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.prepared.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Pushes parameters DataFusion must know (the time zone, for `now()` and casts to
    /// `timestamptz`) into its config after a statement changed them.
    pub(crate) async fn apply_to_datafusion(&self) -> Result<()> {
        let time_zone = self.variables.settings().time_zone().to_owned();
        if *self
            .applied_time_zone
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            == time_zone
        {
            return Ok(());
        }
        // Going through the SetVariable plan (not the config struct) makes DataFusion
        // re-derive config-dependent functions such as `now()`.
        let set = SetVariable {
            variable: "datafusion.execution.time_zone".to_owned(),
            value: time_zone.clone(),
        };
        let plan = LogicalPlan::Statement(PlanStatement::SetVariable(set));
        self.context.execute_logical_plan(plan).await?;
        self.clear_plans();
        *self
            .applied_time_zone
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = time_zone;
        Ok(())
    }
}
