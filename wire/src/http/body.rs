//! Reads a request body under the size limit, decoding gzip. The limit counts decoded bytes,
//! and decoding stops one byte past it, so a gzip bomb costs at most the limit in memory and
//! is answered `413`.

use std::io::Read;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, StatusCode, header};

use super::error::HttpError;

pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Vec<u8>, HttpError> {
    let too_large = || {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds {limit} bytes"),
        )
    };
    // A compressed body larger than the limit decodes to more than the limit too.
    let raw = to_bytes(body, limit).await.map_err(|_| too_large())?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(raw.to_vec()),
        "gzip" => {
            let mut decoded = Vec::new();
            let decoder = flate2::read::MultiGzDecoder::new(raw.as_ref());
            let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
            decoder
                .take(cap)
                .read_to_end(&mut decoded)
                .map_err(|error| {
                    HttpError::new(
                        StatusCode::BAD_REQUEST,
                        format!("invalid gzip body: {error}"),
                    )
                })?;
            if decoded.len() > limit {
                return Err(too_large());
            }
            Ok(decoded)
        }
        other => Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported Content-Encoding {other:?} (use gzip or none)"),
        )),
    }
}
