//! `COPY table [(columns)] FROM STDIN` and `COPY {table | (query)} TO STDOUT`, in the text
//! and CSV formats (`FORMAT`, `DELIMITER`, `NULL`, `HEADER`, `QUOTE`, `ESCAPE`, and the
//! pre-9.0 `WITH CSV HEADER` spelling).
//!
//! COPY FROM collects rows as text and writes them through DataFusion's `INSERT` path (the
//! same one `INSERT … VALUES` takes) every `COPY_BATCH_ROWS` rows, casting each column to
//! the table's type; a value that does not cast is reported with its line and column
//! (22P02). Memory holds one batch, plus one partial record of at most `COPY_RECORD_BYTES_MAX`.
//! There are no transactions: rows of batches written before an error stay written, and the
//! error says how many. COPY TO streams the query's rows, one `CopyData` per row. COPY to or
//! from a server file or program is refused: the server's files are not the client's.

pub(crate) mod format;

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, new_null_array};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::util::display::FormatOptions;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::sql::sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, ObjectName,
    Statement,
};
use futures::StreamExt;
use pgwire::api::results::CopyResponse;
use pgwire::error::PgWireResult;
use pgwire::messages::copy::CopyData;

use crate::pg::copy::format::{CopyFormat, Record, next_record, write_row};
use crate::pg::encode::{field_infos, wire_schema};
use crate::pg::error::{Error, Result};
use crate::pg::row_stream::data_rows;
use crate::pg::session::Session;
use crate::pg::statement::{parse_statements, plan_statement};

/// Rows written per insert. Large enough to amortise planning, small enough that a batch of
/// wide rows stays a few megabytes.
const COPY_BATCH_ROWS: usize = 8_192;
/// Longest record (a line, or a CSV record over several lines) accepted.
pub(crate) const COPY_RECORD_BYTES_MAX: usize = 16 << 20;

/// A parsed `COPY` statement.
#[derive(Debug, Clone)]
pub(crate) enum CopyCommand {
    /// `COPY table [(columns)] FROM STDIN`.
    In {
        table: String,
        columns: Vec<String>,
        format: CopyFormat,
    },
    /// `COPY table [(columns)] TO STDOUT` or `COPY (query) TO STDOUT`, as a query.
    Out { query: String, format: CopyFormat },
}

impl CopyCommand {
    /// The COPY `statement` is, or an error for what is not supported.
    pub(crate) fn from_statement(statement: &Statement) -> Result<Option<Self>> {
        let Statement::Copy {
            source,
            to,
            target,
            options,
            legacy_options,
            values,
        } = statement
        else {
            return Ok(None);
        };
        match (to, target) {
            (false, CopyTarget::Stdin) | (true, CopyTarget::Stdout) => {}
            (_, other) => {
                return Err(Error::NotSupported {
                    what: format!("COPY with {other} (use STDIN / STDOUT, e.g. psql's \\copy)"),
                });
            }
        }
        if !values.is_empty() {
            return Err(Error::NotSupported {
                what: "COPY data inline in the query text".to_owned(),
            });
        }
        let format = copy_format(options, legacy_options)?;
        let command = match source {
            CopySource::Table {
                table_name,
                columns,
            } => {
                let table = object_name(table_name);
                let columns: Vec<String> =
                    columns.iter().map(rusts_planner::ddl::normalize).collect();
                if *to {
                    let list = if columns.is_empty() {
                        "*".to_owned()
                    } else {
                        columns
                            .iter()
                            .map(|c| quoted(c))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    Self::Out {
                        query: format!("SELECT {list} FROM {table_name}"),
                        format,
                    }
                } else {
                    Self::In {
                        table,
                        columns,
                        format,
                    }
                }
            }
            CopySource::Query(query) if *to => Self::Out {
                query: query.to_string(),
                format,
            },
            CopySource::Query(_) => {
                return Err(Error::NotSupported {
                    what: "COPY (query) FROM".to_owned(),
                });
            }
        };
        Ok(Some(command))
    }
}

fn copy_format(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<CopyFormat> {
    let mut csv = false;
    for option in options {
        if let CopyOption::Format(name) = option {
            csv = match name.value.to_ascii_lowercase().as_str() {
                "csv" => true,
                "text" => false,
                other => {
                    return Err(Error::NotSupported {
                        what: format!("COPY format {other}"),
                    });
                }
            };
        }
    }
    csv |= legacy
        .iter()
        .any(|option| matches!(option, CopyLegacyOption::Csv(_)));
    let mut format = if csv {
        CopyFormat::csv()
    } else {
        CopyFormat::text()
    };
    let mut quote = None;
    let mut escape = None;
    for option in options {
        match option {
            CopyOption::Format(_) | CopyOption::Encoding(_) | CopyOption::Freeze(_) => {}
            CopyOption::Delimiter(c) => format.delimiter = single_byte("DELIMITER", *c)?,
            CopyOption::Null(null) => format.null.clone_from(null),
            CopyOption::Header(header) => format.header = *header,
            CopyOption::Quote(c) => quote = Some(single_byte("QUOTE", *c)?),
            CopyOption::Escape(c) => escape = Some(single_byte("ESCAPE", *c)?),
            other => {
                return Err(Error::NotSupported {
                    what: format!("COPY option {other}"),
                });
            }
        }
    }
    apply_legacy_options(&mut format, legacy, &mut quote, &mut escape)?;
    if !format.csv && (quote.is_some() || escape.is_some() || format.header) {
        return Err(Error::NotSupported {
            what: "QUOTE, ESCAPE and HEADER outside CSV format".to_owned(),
        });
    }
    format.quote = quote.unwrap_or(b'"');
    format.escape = escape.unwrap_or(format.quote);
    Ok(format)
}

/// The pre-9.0 spellings: `WITH DELIMITER ','`, `NULL ''`, `CSV HEADER QUOTE '"'`.
fn apply_legacy_options(
    format: &mut CopyFormat,
    legacy: &[CopyLegacyOption],
    quote: &mut Option<u8>,
    escape: &mut Option<u8>,
) -> Result<()> {
    for option in legacy {
        match option {
            CopyLegacyOption::Delimiter(c) => format.delimiter = single_byte("DELIMITER", *c)?,
            CopyLegacyOption::Null(null) => format.null.clone_from(null),
            CopyLegacyOption::Header => format.header = true,
            CopyLegacyOption::Csv(csv_options) => {
                for option in csv_options {
                    match option {
                        CopyLegacyCsvOption::Header => format.header = true,
                        CopyLegacyCsvOption::Quote(c) => *quote = Some(single_byte("QUOTE", *c)?),
                        CopyLegacyCsvOption::Escape(c) => {
                            *escape = Some(single_byte("ESCAPE", *c)?);
                        }
                        other => {
                            return Err(Error::NotSupported {
                                what: format!("COPY option {other}"),
                            });
                        }
                    }
                }
            }
            other => {
                return Err(Error::NotSupported {
                    what: format!("COPY option {other}"),
                });
            }
        }
    }
    Ok(())
}

fn single_byte(option: &str, c: char) -> Result<u8> {
    u8::try_from(c)
        .ok()
        .filter(|b| b.is_ascii() && *b != b'\n' && *b != b'\r')
        .ok_or_else(|| Error::NotSupported {
            what: format!("COPY {option} {c:?} (it must be one single-byte character)"),
        })
}

fn object_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .filter_map(|part| part.as_ident())
        .map(|part| quoted(&rusts_planner::ddl::normalize(part)))
        .collect::<Vec<_>>()
        .join(".")
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `COPY … TO STDOUT`: the query's rows in `format`, one `CopyData` each.
pub(crate) async fn copy_out(
    session: &Arc<Session>,
    query: &str,
    format: &CopyFormat,
) -> Result<CopyResponse> {
    let statement = parse_statements(query)?
        .pop()
        .ok_or_else(|| Error::NotSupported {
            what: "COPY of an empty query".to_owned(),
        })?;
    let (plan, _) = session
        .interruptible(plan_statement(session, statement))
        .await??;
    let frame = session
        .interruptible(session.context().execute_logical_plan(plan))
        .await??;
    let batches = session.interruptible(frame.execute_stream()).await??;
    let time_zone = session.variables().settings().time_zone().to_owned();
    let options = session.variables().settings().format_options();
    let wire = wire_schema(&batches.schema(), &time_zone);
    let columns = wire.fields().len();
    let fields = field_infos(&wire, &pgwire::api::portal::Format::UnifiedText, options)
        .map_err(|error| datafusion::error::DataFusionError::Execution(error.to_string()))?;
    let names: Vec<String> = batches
        .schema()
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect();
    let rows = data_rows(Arc::clone(session), batches, wire, fields);
    let mut header = None;
    if format.header {
        let mut out = Vec::new();
        let values: Vec<Option<&[u8]>> = names.iter().map(|n| Some(n.as_bytes())).collect();
        write_row(&mut out, &values, format);
        header = Some(CopyData::new(out.into()));
    }
    let format = format.clone();
    let data = rows.map(move |row| -> PgWireResult<CopyData> {
        let row = row?;
        let values = data_row_values(&row.data);
        let mut out = Vec::with_capacity(row.data.len() + columns);
        write_row(&mut out, &values, &format);
        Ok(CopyData::new(out.into()))
    });
    // The header goes behind an empty marker message so `send_copy_out` does not count it
    // as a row (`COPY n` counts rows only).
    let header = header
        .into_iter()
        .flat_map(|header| [Ok(CopyData::new(Vec::new().into())), Ok(header)]);
    let stream = futures::stream::iter(header).chain(data);
    Ok(CopyResponse::new(0, columns, stream))
}

/// Sends a `COPY … TO STDOUT` response: CopyOutResponse, one CopyData per row, CopyDone and
/// `COPY n`. An empty CopyData from [`copy_out`] marks the next message as the header, which
/// is sent but not counted.
pub(crate) async fn send_copy_out<C>(client: &mut C, response: CopyResponse) -> PgWireResult<()>
where
    C: futures::Sink<pgwire::messages::PgWireBackendMessage> + Unpin + Send,
    C::Error: std::fmt::Debug,
    pgwire::error::PgWireError:
        From<<C as futures::Sink<pgwire::messages::PgWireBackendMessage>>::Error>,
{
    use futures::SinkExt;
    use pgwire::messages::PgWireBackendMessage as Message;
    let formats = response.column_formats();
    let CopyResponse {
        format,
        columns,
        mut data_stream,
        ..
    } = response;
    let columns = i16::try_from(columns).unwrap_or(i16::MAX);
    let start = pgwire::messages::copy::CopyOutResponse::new(format, columns, formats);
    client.send(Message::CopyOutResponse(start)).await?;
    let mut rows = 0usize;
    let mut header_next = false;
    while let Some(data) = data_stream.next().await {
        let data = data?;
        if data.data.is_empty() {
            header_next = true;
            continue;
        }
        if !std::mem::take(&mut header_next) {
            rows += 1;
        }
        client.feed(Message::CopyData(data)).await?;
    }
    client
        .feed(Message::CopyDone(pgwire::messages::copy::CopyDone::new()))
        .await?;
    let tag = pgwire::api::results::Tag::new("COPY").with_rows(rows);
    client.send(Message::CommandComplete(tag.into())).await?;
    Ok(())
}

/// The values of an encoded `DataRow`: `[i32 length or -1][bytes]` per column.
fn data_row_values(data: &[u8]) -> Vec<Option<&[u8]>> {
    let mut values = Vec::new();
    let mut rest = data;
    while rest.len() >= 4 {
        let length = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        rest = &rest[4..];
        match usize::try_from(length) {
            Ok(length) if length <= rest.len() => {
                values.push(Some(&rest[..length]));
                rest = &rest[length..];
            }
            _ => values.push(None),
        }
    }
    values
}

/// A `COPY … FROM STDIN` in progress: kept in the session between `CopyData` messages.
#[derive(Debug)]
pub(crate) struct CopyIn {
    table: String,
    /// The table's columns, all of them (a batch is written full width).
    schema: SchemaRef,
    /// For each copied column, its index in `schema`.
    columns: Vec<usize>,
    format: CopyFormat,
    /// Bytes of records not yet complete.
    pending: Vec<u8>,
    /// Parsed rows not yet written, with their line numbers.
    rows: Vec<(u64, Vec<Option<String>>)>,
    /// Lines consumed so far (a CSV record may span several).
    line: u64,
    header_pending: bool,
    /// `\.` seen: later data is ignored, as Postgres does.
    ended: bool,
    written: u64,
    /// The first error; the rest of the data is discarded and CopyDone reports it.
    pub(crate) error: Option<Error>,
}

/// Starts `COPY table FROM STDIN`: checks the table and columns; the data follows.
pub(crate) async fn copy_in(
    session: &Session,
    table: &str,
    columns: &[String],
    format: &CopyFormat,
) -> Result<(CopyIn, usize)> {
    let provider = session.context().table_provider(table).await?;
    let schema = provider.schema();
    let indexes = if columns.is_empty() {
        (0..schema.fields().len()).collect()
    } else {
        let mut indexes = Vec::with_capacity(columns.len());
        for column in columns {
            let index = schema.index_of(column).map_err(|_| Error::UnknownColumn {
                table: table.to_owned(),
                column: column.clone(),
            })?;
            indexes.push(index);
        }
        indexes
    };
    let count = indexes.len();
    let state = CopyIn {
        table: table.to_owned(),
        schema,
        columns: indexes,
        format: format.clone(),
        pending: Vec::new(),
        rows: Vec::new(),
        line: 0,
        header_pending: format.header,
        ended: false,
        written: 0,
        error: None,
    };
    Ok((state, count))
}

impl CopyIn {
    /// Takes one `CopyData` payload; writes full batches.
    pub(crate) async fn data(&mut self, session: &Session, bytes: &[u8]) {
        if self.error.is_some() || self.ended {
            return;
        }
        self.pending.extend_from_slice(bytes);
        if let Err(error) = self.drain(session, false).await {
            self.fail(error);
        }
    }

    /// `CopyDone`: parses the rest, writes it, and returns the row count for `COPY n`.
    pub(crate) async fn done(mut self, session: &Session) -> Result<u64> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        if !self.ended {
            self.drain(session, true).await?;
        }
        self.flush(session).await?;
        Ok(self.written)
    }

    fn fail(&mut self, error: Error) {
        self.pending = Vec::new();
        self.rows = Vec::new();
        self.error = Some(error);
    }

    async fn drain(&mut self, session: &Session, at_end: bool) -> Result<()> {
        let mut offset = 0;
        while !self.ended {
            let parsed = next_record(&self.pending[offset..], &self.format, at_end)
                .map_err(|reason| self.bad_data(self.line + 1, reason))?;
            let Some((record, taken)) = parsed else {
                break;
            };
            let lines = self.pending[offset..offset + taken]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                .max(1);
            offset += taken;
            let line = self.line + 1;
            self.line += lines as u64;
            match record {
                Record::End => self.ended = true,
                Record::Row(_) if self.header_pending => self.header_pending = false,
                Record::Row(fields) => {
                    if fields.len() != self.columns.len() {
                        let reason = if fields.len() > self.columns.len() {
                            "extra data after last expected column".to_owned()
                        } else {
                            let missing = self.schema.field(self.columns[fields.len()]).name();
                            format!("missing data for column \"{missing}\"")
                        };
                        return Err(self.bad_data(line, reason));
                    }
                    self.rows.push((line, fields));
                    if self.rows.len() >= COPY_BATCH_ROWS {
                        self.pending.drain(..offset);
                        offset = 0;
                        self.flush(session).await?;
                    }
                }
            }
        }
        self.pending.drain(..offset);
        if self.pending.len() > COPY_RECORD_BYTES_MAX {
            return Err(Error::LimitExceeded {
                what: "bytes in one COPY record",
                limit: COPY_RECORD_BYTES_MAX,
            });
        }
        Ok(())
    }

    fn bad_data(&self, line: u64, reason: String) -> Error {
        Error::BadCopyData {
            table: self.table.clone(),
            line,
            reason,
            written: self.written,
        }
    }

    /// Writes the collected rows through DataFusion's INSERT path.
    async fn flush(&mut self, session: &Session) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let mut arrays: Vec<ArrayRef> = self
            .schema
            .fields()
            .iter()
            .map(|field| new_null_array(field.data_type(), rows.len()))
            .collect();
        for (position, &index) in self.columns.iter().enumerate() {
            let field = self.schema.field(index);
            let text = StringArray::from_iter(rows.iter().map(|(_, row)| row[position].as_deref()));
            arrays[index] = self.typed(&text, field.data_type(), field.name(), &rows)?;
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), arrays)
            .map_err(datafusion::error::DataFusionError::from)?;
        let frame = session.context().read_batch(batch)?;
        let written = session
            .interruptible(frame.write_table(&self.table, DataFrameWriteOptions::new()))
            .await?
            .map_err(|error| {
                let (code, message) = Error::Query(error).sqlstate_and_message();
                Error::CopyFailed {
                    table: self.table.clone(),
                    line: rows.first().map_or(0, |(line, _)| *line),
                    written: self.written,
                    code,
                    message,
                }
            })?;
        self.written += rows.len() as u64;
        drop(written);
        Ok(())
    }

    /// Casts a text column to the table's type; a value that does not cast is reported
    /// with its line.
    fn typed(
        &self,
        text: &StringArray,
        data_type: &DataType,
        column: &str,
        rows: &[(u64, Vec<Option<String>>)],
    ) -> Result<ArrayRef> {
        let options = CastOptions {
            safe: false,
            format_options: FormatOptions::default(),
        };
        if let Ok(array) = cast_with_options(text, data_type, &options) {
            return Ok(array);
        }
        for (row, (line, _)) in rows.iter().enumerate() {
            let one = text.slice(row, 1);
            if let Err(error) = cast_with_options(&one, data_type, &options) {
                return Err(Error::InvalidCopyValue {
                    table: self.table.clone(),
                    line: *line,
                    column: column.to_owned(),
                    value: text.value(row).chars().take(100).collect(),
                    reason: error.to_string(),
                    written: self.written,
                });
            }
        }
        Err(Error::NotSupported {
            what: format!("COPY into column \"{column}\" of type {data_type}"),
        })
    }
}
