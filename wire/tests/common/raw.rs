//! A minimal hand-rolled protocol client, to see what drivers hide: exact command tags,
//! `EmptyQueryResponse`, `ParameterStatus`, and the transaction status byte.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One backend message: its type byte and body.
#[derive(Debug, Clone)]
pub struct Message {
    pub kind: u8,
    pub body: Vec<u8>,
}

impl Message {
    /// The body as a NUL-terminated string (CommandComplete tag).
    pub fn text(&self) -> String {
        let end = self
            .body
            .iter()
            .position(|byte| *byte == 0)
            .unwrap_or(self.body.len());
        String::from_utf8_lossy(&self.body[..end]).into_owned()
    }

    /// ParameterStatus name and value.
    pub fn parameter(&self) -> (String, String) {
        let mut parts = self
            .body
            .split(|byte| *byte == 0)
            .map(|part| String::from_utf8_lossy(part).into_owned());
        (parts.next().unwrap(), parts.next().unwrap())
    }

    /// ErrorResponse SQLSTATE (field 'C').
    pub fn sqlstate(&self) -> String {
        self.body
            .split(|byte| *byte == 0)
            .find(|field| field.first() == Some(&b'C'))
            .map(|field| String::from_utf8_lossy(&field[1..]).into_owned())
            .unwrap_or_default()
    }
}

/// SSLRequest and GSSENCRequest codes from the protocol docs.
pub const SSL_REQUEST: i32 = 80_877_103;
pub const GSS_ENCRYPTION_REQUEST: i32 = 80_877_104;

pub struct RawClient {
    stream: TcpStream,
    /// Messages received during startup.
    pub startup: Vec<Message>,
}

impl RawClient {
    /// Connects with an SSLRequest first (answered 'N'), as psql does.
    pub async fn connect(port: u16, parameters: &[(&str, &str)]) -> Self {
        Self::connect_negotiating(port, parameters, &[SSL_REQUEST]).await
    }

    /// Connects after sending each of `requests` (SSL or GSS encryption) and checking the
    /// server declines it with 'N'.
    pub async fn connect_negotiating(
        port: u16,
        parameters: &[(&str, &str)],
        requests: &[i32],
    ) -> Self {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        for request in requests {
            stream.write_all(&8i32.to_be_bytes()).await.unwrap();
            stream.write_all(&request.to_be_bytes()).await.unwrap();
            let mut answer = [0u8; 1];
            stream.read_exact(&mut answer).await.unwrap();
            assert_eq!(answer[0], b'N', "request {request}");
        }
        let mut body = Vec::new();
        body.extend_from_slice(&196_608i32.to_be_bytes());
        for (name, value) in parameters {
            body.extend_from_slice(name.as_bytes());
            body.push(0);
            body.extend_from_slice(value.as_bytes());
            body.push(0);
        }
        body.push(0);
        let length = i32::try_from(body.len() + 4).unwrap();
        stream.write_all(&length.to_be_bytes()).await.unwrap();
        stream.write_all(&body).await.unwrap();
        let mut client = Self {
            stream,
            startup: Vec::new(),
        };
        client.startup = client.until_ready().await;
        client
    }

    pub async fn read(&mut self) -> Message {
        let kind = self.stream.read_u8().await.unwrap();
        let length = self.stream.read_i32().await.unwrap();
        let mut body = vec![0u8; usize::try_from(length - 4).unwrap()];
        self.stream.read_exact(&mut body).await.unwrap();
        Message { kind, body }
    }

    /// Messages up to and including ReadyForQuery.
    pub async fn until_ready(&mut self) -> Vec<Message> {
        let mut messages = Vec::new();
        loop {
            let message = self.read().await;
            let done = message.kind == b'Z';
            messages.push(message);
            if done {
                return messages;
            }
        }
    }

    /// Sends a simple query and returns every message up to ReadyForQuery.
    pub async fn query(&mut self, sql: &str) -> Vec<Message> {
        let mut body = sql.as_bytes().to_vec();
        body.push(0);
        self.send(b'Q', &body).await;
        self.until_ready().await
    }

    pub async fn send(&mut self, kind: u8, body: &[u8]) {
        let length = i32::try_from(body.len() + 4).unwrap();
        self.stream.write_u8(kind).await.unwrap();
        self.stream.write_all(&length.to_be_bytes()).await.unwrap();
        self.stream.write_all(body).await.unwrap();
    }
}

/// CommandComplete tags in order.
pub fn tags(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .filter(|message| message.kind == b'C')
        .map(Message::text)
        .collect()
}

/// The transaction status byte of the final ReadyForQuery.
pub fn status(messages: &[Message]) -> u8 {
    messages
        .last()
        .filter(|message| message.kind == b'Z')
        .map(|message| message.body[0])
        .unwrap()
}
