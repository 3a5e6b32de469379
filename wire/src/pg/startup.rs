//! Connection startup: protocol version, startup parameters, the new session, and the
//! messages a client waits for before its first query (`AuthenticationOk`,
//! `ParameterStatus`, `BackendKeyData`, `ReadyForQuery`).
//!
//! Authentication is `trust`: the user name is taken as given. Startup parameters that name a
//! known setting are applied (`application_name`, `DateStyle`, `TimeZone`, ...), as are
//! `-c name=value` switches in `options`; a bad value fails the connection (FATAL), as in
//! Postgres, while unknown parameter names are ignored for compatibility with drivers that
//! send extras.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::auth::{
    ServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{
    ClientInfo, METADATA_DATABASE, METADATA_USER, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::pg::cancel::CancelRegistry;
use crate::pg::error::Error;
use crate::pg::functions::{VersionInfo, register_session_functions};
use crate::pg::server::{PgServerOptions, SessionFactory};
use crate::pg::session::{Session, SessionIdentity, SessionVariables};
use crate::pg::settings::{Reports, Settings};
use crate::pg::sqlstate::code;

/// Startup parameters that are not settings.
const NOT_SETTINGS: &[&str] = &["user", "database", "options", "replication"];

/// Opens a session for each new connection.
pub(crate) struct SessionStartup {
    pub(crate) factory: Arc<dyn SessionFactory>,
    pub(crate) options: PgServerOptions,
    pub(crate) registry: Arc<CancelRegistry>,
    pub(crate) pids: RandomPidSecretKeyGenerator,
}

impl Debug for SessionStartup {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SessionStartup")
            .field("options", &self.options)
            .finish()
    }
}

fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_owned(),
        code.to_owned(),
        message,
    )))
}

/// Turns a failed setting into the FATAL error that ends the connection.
fn fatal_setting(error: &Error) -> PgWireError {
    let (code, message) = error.sqlstate_and_message();
    fatal(code, message)
}

/// `ParameterStatus` values sent once authentication succeeds.
struct StartupParameters(Reports);

impl ServerParameterProvider for StartupParameters {
    fn server_parameters<C: ClientInfo>(&self, _client: &C) -> Option<HashMap<String, String>> {
        Some(self.0.iter().cloned().collect())
    }
}

impl SessionStartup {
    /// Settings for a new session: defaults, then startup parameters, then `options`.
    fn startup_settings(
        &self,
        metadata: &HashMap<String, String>,
        user: &str,
    ) -> PgWireResult<Settings> {
        let mut settings = Settings::new(&self.options.server_version, user);
        for (name, value) in metadata
            .iter()
            .filter(|(name, _)| !NOT_SETTINGS.contains(&name.as_str()))
        {
            match settings.set(name, value) {
                Ok(_) => {}
                Err(Error::UnknownSetting { .. }) => {
                    tracing::debug!(parameter = %name, "ignoring unknown startup parameter");
                }
                Err(error) => return Err(fatal_setting(&error)),
            }
        }
        let options = metadata
            .get("options")
            .map(String::as_str)
            .unwrap_or_default();
        for (name, value) in
            parse_startup_options(options).map_err(|error| fatal_setting(&error))?
        {
            settings
                .set(&name, &value)
                .map_err(|error| fatal_setting(&error))?;
        }
        settings.commit_as_defaults();
        Ok(settings)
    }

    /// Creates the session and its DataFusion context, and makes it cancellable.
    async fn open_session<C: ClientInfo + Send + Sync>(
        &self,
        client: &mut C,
    ) -> PgWireResult<Reports> {
        let metadata = client.metadata().clone();
        let user = metadata.get(METADATA_USER).cloned().ok_or_else(|| {
            let message = "no PostgreSQL user name specified in startup packet".to_owned();
            fatal(code::INVALID_AUTHORIZATION_SPECIFICATION, message)
        })?;
        let database = metadata
            .get(METADATA_DATABASE)
            .cloned()
            .unwrap_or_else(|| user.clone());
        let settings = self.startup_settings(&metadata, &user)?;
        let reported = settings.reported();
        let (pid, secret) = self.pids.generate(&*client);
        client.set_pid_and_secret_key(pid, secret.clone());
        let identity = SessionIdentity {
            database: database.clone(),
            user: user.clone(),
            pid,
        };
        let variables = Arc::new(SessionVariables::new(identity, settings));
        let context = self
            .factory
            .new_session(&database, &user)
            .map_err(|message| fatal(code::INVALID_CATALOG_NAME, message))?;
        context
            .state_ref()
            .write()
            .config_mut()
            .options_mut()
            .set("datafusion.sql_parser.dialect", "PostgreSQL")
            .map_err(|error| PgWireError::from(Error::from(error)))?;
        let version = VersionInfo {
            server_version: self.options.server_version.clone(),
            product: self.options.product.clone(),
        };
        register_session_functions(&context, &variables, &version);
        let session = Arc::new(Session::new(context, variables));
        session.apply_to_datafusion().await?;
        let registration = self.registry.register(pid, &secret, &session);
        client.session_extensions().insert(registration);
        client.session_extensions().insert(session);
        tracing::debug!(pid, user = %user, database = %database, "session started");
        Ok(reported)
    }
}

#[async_trait]
impl StartupHandler for SessionStartup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // Only `trust` authentication: nothing but the startup message is expected.
        if let PgWireFrontendMessage::Startup(startup) = message {
            protocol_negotiation(client, &startup).await?;
            save_startup_parameters_to_metadata(client, &startup);
            let reported = self.open_session(client).await?;
            finish_authentication(client, &StartupParameters(reported)).await?;
        }
        Ok(())
    }
}

/// `name=value` pairs from the `options` startup parameter: `-c name=value`, `-cname=value`
/// or `--name=value`, separated by spaces; `\ ` is a literal space, `\\` a backslash.
pub(crate) fn parse_startup_options(options: &str) -> Result<Vec<(String, String)>, Error> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut characters = options.chars();
    while let Some(character) = characters.next() {
        match character {
            '\\' => word.extend(characters.next()),
            ' ' | '\t' => words.push(std::mem::take(&mut word)),
            other => word.push(other),
        }
    }
    words.push(word);
    let mut words = words.into_iter().filter(|word| !word.is_empty());
    let mut pairs = Vec::new();
    while let Some(word) = words.next() {
        let assignment = if word == "-c" {
            words.next().unwrap_or_default()
        } else if let Some(rest) = word.strip_prefix("--").or_else(|| word.strip_prefix("-c")) {
            rest.to_owned()
        } else {
            return Err(Error::NotSupported {
                what: format!("startup option \"{word}\""),
            });
        };
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(Error::NotSupported {
                what: format!("startup option \"{assignment}\""),
            });
        };
        pairs.push((name.replace('-', "_"), value.to_owned()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_accept_the_three_postgres_spellings() {
        let pairs =
            parse_startup_options("-c search_path=metrics --statement-timeout=5s -cDateStyle=ISO")
                .unwrap();
        let expected = [
            ("search_path", "metrics"),
            ("statement_timeout", "5s"),
            ("DateStyle", "ISO"),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(pairs, expected);
    }

    #[test]
    fn options_unescape_spaces_and_backslashes() {
        let pairs = parse_startup_options("-c application_name=my\\ app\\\\x").unwrap();
        assert_eq!(
            pairs,
            vec![("application_name".to_owned(), "my app\\x".to_owned())]
        );
        assert!(parse_startup_options("").unwrap().is_empty());
    }

    #[test]
    fn malformed_options_are_errors() {
        assert!(parse_startup_options("-c novalue").is_err());
        assert!(parse_startup_options("plain").is_err());
    }
}
