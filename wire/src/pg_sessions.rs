//! The planner's engine as the Postgres listener's [`SessionFactory`]: each connection gets
//! a DataFusion session on its database (see `rusts_planner::Engine::sql_session`).

use datafusion::prelude::SessionContext;
use rusts_planner::Engine;

use crate::pg::SessionFactory;

impl SessionFactory for Engine {
    fn new_session(&self, database: &str, _user: &str) -> Result<SessionContext, String> {
        self.sql_session(database)
            .map_err(|error| format!("database \"{database}\" cannot be opened: {error}"))
    }
}
