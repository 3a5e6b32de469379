//! Cancel requests: a client opens a second connection and sends the process id and secret
//! key it got in `BackendKeyData`; if both match a live session, its running statement ends
//! with SQLSTATE 57014.
//!
//! The registry maps `(pid, secret)` to a `Weak<Session>`; the entry is removed when the
//! connection's `CancelRegistration` is dropped with its session extensions. A wrong secret
//! is ignored silently, as Postgres does, so the reply cannot be used to probe pids.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use async_trait::async_trait;
use bytes::Bytes;
use pgwire::api::cancel::CancelHandler;
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;

use crate::pg::session::Session;

type CancelKey = (i32, Bytes);

/// Live sessions by process id and secret key.
#[derive(Debug, Default)]
pub(crate) struct CancelRegistry {
    sessions: Mutex<HashMap<CancelKey, Weak<Session>>>,
}

impl CancelRegistry {
    /// Makes `session` cancellable with `(pid, secret)` until the registration is dropped.
    pub(crate) fn register(
        self: &Arc<Self>,
        pid: i32,
        secret: &SecretKey,
        session: &Arc<Session>,
    ) -> CancelRegistration {
        let key = (pid, secret.to_bytes());
        self.lock().insert(key.clone(), Arc::downgrade(session));
        CancelRegistration {
            registry: Arc::clone(self),
            key,
        }
    }

    /// Cancels the running statement of the session with this key, if there is one.
    pub(crate) fn cancel(&self, pid: i32, secret: &SecretKey) -> bool {
        let session = self
            .lock()
            .get(&(pid, secret.to_bytes()))
            .and_then(Weak::upgrade);
        match session {
            Some(session) => {
                session.cancel();
                tracing::debug!(pid, "query cancel requested");
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CancelKey, Weak<Session>>> {
        // Each update is one insert or remove, so a poisoned map is still consistent.
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes a session from the registry when the connection ends.
#[derive(Debug)]
pub(crate) struct CancelRegistration {
    registry: Arc<CancelRegistry>,
    key: CancelKey,
}

impl Drop for CancelRegistration {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.key);
    }
}

/// pgwire's hook for `CancelRequest` messages.
#[derive(Debug)]
pub(crate) struct RegistryCancelHandler {
    pub(crate) registry: Arc<CancelRegistry>,
}

#[async_trait]
impl CancelHandler for RegistryCancelHandler {
    async fn on_cancel_request(&self, request: CancelRequest) {
        self.registry.cancel(request.pid, &request.secret_key);
    }
}
