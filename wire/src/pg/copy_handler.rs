//! pgwire's copy-in callbacks: `CopyData` feeds the session's `COPY … FROM STDIN`,
//! `CopyDone` writes the rest and answers `COPY n`, `CopyFail` abandons it (57014).

use std::fmt::Debug;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::ClientInfo;
use pgwire::api::copy::CopyHandler;
use pgwire::api::results::Tag;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};

use crate::pg::error::Error;
use crate::pg::handlers::QueryHandler;
use crate::pg::protocol::session_of;

fn no_copy() -> PgWireError {
    Error::NotSupported {
        what: "COPY data without a COPY FROM STDIN in progress".to_owned(),
    }
    .into()
}

#[async_trait]
impl CopyHandler for QueryHandler {
    async fn on_copy_data<C>(&self, client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session_of(client)?;
        let mut copy = session.take_copy_in().ok_or_else(no_copy)?;
        copy.data(&session, &copy_data.data).await;
        session.put_copy_in(copy);
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session_of(client)?;
        let copy = session.take_copy_in().ok_or_else(no_copy)?;
        let rows = copy.done(&session).await?;
        let tag = Tag::new("COPY").with_rows(usize::try_from(rows).unwrap_or(usize::MAX));
        client
            .send(PgWireBackendMessage::CommandComplete(tag.into()))
            .await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Ok(session) = session_of(client) {
            drop(session.take_copy_in());
        }
        Error::CopyAborted {
            message: fail.message,
        }
        .into()
    }
}
