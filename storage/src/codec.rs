//! Column codecs: turn one column of one block into bytes and back.
//!
//! Entry points, one per column kind. Each `encode` appends to `out`; each `decode` appends
//! the decoded values to `out`, or returns `Err` (never panics) on bad input and then
//! leaves `out` as it was:
//!
//! | column     | module (file)                              | encode / decode                     |
//! |------------|--------------------------------------------|-------------------------------------|
//! | timestamps | [`timestamp`] (`codec/delta_of_delta.rs`)  | `encode(&[i64])` / `decode`         |
//! | floats     | [`float`] (`codec/float.rs`)               | `encode(&[f64])` / `decode`         |
//! | integers   | [`integer`] (`codec/varint.rs`)            | `encode_i64` / `decode_i64`, `encode_u64` / `decode_u64` |
//! | strings    | [`string`] (`codec/dictionary.rs`)         | `encode(&[impl AsRef<str>])` / `decode` |
//! | booleans   | [`boolean`] (`codec/boolean.rs`)           | `encode(&[bool])` / `decode`        |
//!
//! Floats pick per block between [`gorilla`] (XOR with the previous value) and [`decimal`]
//! (scaled to integers when the values are short decimals); integers and the decimal codec
//! share the Golomb-Rice / bit-packing back end in [`rice`].
//!
//! Invariants every codec keeps:
//! - **Self-describing and exactly framed.** An encoding carries its value count; the decoder
//!   consumes every byte, so a strict prefix fails with [`CodecError::Truncated`] and extra
//!   bytes with [`CodecError::TrailingBytes`]. Bit sections are padded with zero bits to a
//!   whole byte, and non-zero padding is refused.
//! - **Lossless.** Floats round-trip bit for bit (NaN payloads, `-0.0`, infinities);
//!   integer and timestamp arithmetic wraps, so any `i64`/`u64` sequence round-trips.
//! - **Bounded memory on garbage.** A declared count above [`CODEC_VALUES_MAX`] is refused
//!   before anything is allocated, and reservations never exceed what the remaining input can
//!   hold (except zero-bit-width sections, which are capped at [`CODEC_VALUES_MAX`]).
//!
//! Not owned here: block headers (min/max/count/sum), checksums and the choice of codec per
//! column type; those belong to the segment writer and reader.
//!
//! [`CODEC_VALUES_MAX`]: crate::limits::CODEC_VALUES_MAX

mod bits;
pub(crate) mod boolean;
mod decimal;
pub(crate) mod delta_of_delta;
pub(crate) mod dictionary;
pub(crate) mod float;
mod gorilla;
mod rice;
#[cfg(test)]
mod test_support;
pub(crate) mod varint;

pub(crate) use self::delta_of_delta as timestamp;
pub(crate) use self::dictionary as string;
pub(crate) use self::varint as integer;

/// Why an encoded column could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input ends before the encoding does.
    #[error("input ends after {available} bytes, {needed} more needed")]
    Truncated {
        /// Bytes of input the decoder had.
        available: usize,
        /// Bytes missing for the next item (at least one).
        needed: usize,
    },
    /// The encoding declares more values than any encoder writes.
    #[error("{count} values declared, at most {max}")]
    TooManyValues {
        /// The declared count.
        count: u64,
        /// The ceiling ([`crate::limits::CODEC_VALUES_MAX`]).
        max: usize,
    },
    /// A field of the encoding holds a value no encoder writes.
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// Which field ("codec tag", "bit width", "dictionary index", …).
        what: &'static str,
        /// The offending value and what was allowed.
        detail: String,
    },
    /// Bytes follow the last value of the encoding.
    #[error("{extra} bytes left after the last value")]
    TrailingBytes {
        /// How many bytes are left over.
        extra: usize,
    },
}

impl CodecError {
    /// Shorthand for [`CodecError::Invalid`].
    pub(crate) fn invalid(what: &'static str, detail: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            detail: detail.into(),
        }
    }
}

/// Runs `decode`, which appends to `out`; if it fails, drops what it appended, so a failed
/// decode leaves `out` as it was.
pub(crate) fn all_or_nothing<T>(
    out: &mut Vec<T>,
    decode: impl FnOnce(&mut Vec<T>) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    let length_before = out.len();
    let result = decode(out);
    if result.is_err() {
        out.truncate(length_before);
    }
    result
}

/// The codec entry points as plain `pub fn`s, **for benches only** (criterion benches are a
/// separate crate and cannot reach `pub(crate)` items). Not a stable API.
#[doc(hidden)]
pub mod bench_api {
    pub use super::CodecError;

    /// Calls `codec::timestamp::encode`.
    pub fn timestamp_encode(values: &[i64], out: &mut Vec<u8>) {
        super::timestamp::encode(values, out);
    }
    /// Calls `codec::timestamp::decode`.
    pub fn timestamp_decode(input: &[u8], out: &mut Vec<i64>) -> Result<(), CodecError> {
        super::timestamp::decode(input, out)
    }
    /// Calls `codec::float::encode`.
    pub fn float_encode(values: &[f64], out: &mut Vec<u8>) {
        super::float::encode(values, out);
    }
    /// Calls `codec::float::decode`.
    pub fn float_decode(input: &[u8], out: &mut Vec<f64>) -> Result<(), CodecError> {
        super::float::decode(input, out)
    }
    /// Calls `codec::integer::encode_i64`.
    pub fn integer_encode(values: &[i64], out: &mut Vec<u8>) {
        super::integer::encode_i64(values, out);
    }
    /// Calls `codec::integer::decode_i64`.
    pub fn integer_decode(input: &[u8], out: &mut Vec<i64>) -> Result<(), CodecError> {
        super::integer::decode_i64(input, out)
    }
    /// Calls `codec::integer::encode_u64`.
    pub fn unsigned_encode(values: &[u64], out: &mut Vec<u8>) {
        super::integer::encode_u64(values, out);
    }
    /// Calls `codec::integer::decode_u64`.
    pub fn unsigned_decode(input: &[u8], out: &mut Vec<u64>) -> Result<(), CodecError> {
        super::integer::decode_u64(input, out)
    }
    /// Calls `codec::string::encode`.
    pub fn string_encode<S: AsRef<str>>(values: &[S], out: &mut Vec<u8>) {
        super::string::encode(values, out);
    }
    /// Calls `codec::string::decode`.
    pub fn string_decode(input: &[u8], out: &mut Vec<String>) -> Result<(), CodecError> {
        super::string::decode(input, out)
    }
    /// Calls `codec::boolean::encode`.
    pub fn boolean_encode(values: &[bool], out: &mut Vec<u8>) {
        super::boolean::encode(values, out);
    }
    /// Calls `codec::boolean::decode`.
    pub fn boolean_decode(input: &[u8], out: &mut Vec<bool>) -> Result<(), CodecError> {
        super::boolean::decode(input, out)
    }
}
