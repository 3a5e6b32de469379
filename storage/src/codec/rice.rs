//! Entropy back end for sequences of signed deltas, shared by the integer codec
//! ([`super::varint`]) and the decimal float codec ([`super::decimal`]).
//!
//! Each delta is first made non-negative by one of two transforms, then written with one
//! of two packings; the encoder computes the exact size of all combinations and keeps the
//! smallest (ties go to bit-packing, which decodes faster):
//! - transform **zigzag** (deltas centred on 0, e.g. a random walk) or **offset** (delta minus
//!   the block minimum, e.g. a counter whose increments hover around a rate);
//! - packing **bit-pack** at the widest code's width, or **Golomb-Rice** with parameter `k`
//!   (quotient `code >> k` in unary, then the low `k` bits), which costs ~0.03 bits above the
//!   entropy of geometric-like residuals and wins when a few large deltas would widen the pack.
//!
//! Layout: `tag: u8` (bit 7: offset transform; low 7 bits: 0..=64 bit-pack width, 65..=127
//! Rice `k + 65`), `[min: zigzag varint]` when the offset transform is used, then one bit
//! section with the codes. The delta count is not stored: the caller knows it.

use super::CodecError;
use super::bits::{BitReader, BitWriter, ByteReader, bit_width, reserve_decoded};
use super::varint::{unzigzag, write_varint, zigzag};

/// Set in the tag when codes are offsets from the block minimum rather than zigzag codes.
const TAG_OFFSET: u8 = 0x80;
/// Tags 0..=64 are bit-pack widths; tags from here are Rice parameters.
const TAG_RICE_FIRST: u8 = 65;
/// Largest Rice parameter (the largest a 7-bit tag holds): Rice with `k` ≥ 63 is never
/// smaller than bit-packing at 64 bits.
const RICE_K_MAX: u32 = 62;

/// How codes are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Packing {
    BitPack { width: u32 },
    Rice { k: u32 },
}

/// Appends `deltas` (tag, optional minimum, bit section).
pub(crate) fn encode(deltas: &[i64], out: &mut Vec<u8>) {
    let zigzag_codes: Vec<u64> = deltas.iter().map(|&delta| zigzag(delta)).collect();
    let (zigzag_packing, zigzag_bits) = best_packing(&zigzag_codes);
    let min = deltas.iter().copied().min().unwrap_or(0);
    let offset_codes: Vec<u64> = deltas
        .iter()
        .map(|&delta| delta.wrapping_sub(min) as u64)
        .collect();
    let (offset_packing, offset_bits) = best_packing(&offset_codes);
    let offset_header_bits = 8 * u128::from(varint_len(zigzag(min)));
    if offset_bits + offset_header_bits < zigzag_bits {
        out.push(TAG_OFFSET | tag(offset_packing));
        write_varint(out, zigzag(min));
        write_codes(&offset_codes, offset_packing, out);
    } else {
        out.push(tag(zigzag_packing));
        write_codes(&zigzag_codes, zigzag_packing, out);
    }
}

/// Reads `count` deltas written by [`encode`] and appends them to `out`.
pub(crate) fn decode(
    input: &mut ByteReader<'_>,
    count: usize,
    out: &mut Vec<i64>,
) -> Result<(), CodecError> {
    let tag = input.read_u8()?;
    let min = if tag & TAG_OFFSET == 0 {
        None
    } else {
        Some(unzigzag(input.read_varint()?))
    };
    let packing = match u32::from(tag & !TAG_OFFSET) {
        width @ 0..=64 => Packing::BitPack { width },
        rice => Packing::Rice {
            k: rice - u32::from(TAG_RICE_FIRST),
        },
    };
    let start = out.len();
    input.bit_section(|bits| read_codes(bits, packing, count, out))?;
    let codes = out.get_mut(start..).unwrap_or_default();
    match min {
        None => codes
            .iter_mut()
            .for_each(|code| *code = unzigzag(*code as u64)),
        Some(min) => codes
            .iter_mut()
            .for_each(|code| *code = code.wrapping_add(min)),
    }
    Ok(())
}

/// The cheapest packing of `codes` and its exact size in bits.
fn best_packing(codes: &[u64]) -> (Packing, u128) {
    let width = bit_width(codes.iter().fold(0, |acc, &code| acc | code));
    let count = codes.len() as u128;
    let mut best = (Packing::BitPack { width }, count * u128::from(width));
    for k in 0..width.min(RICE_K_MAX + 1) {
        let quotients: u128 = codes.iter().map(|&code| u128::from(code >> k)).sum();
        let bits = count * u128::from(k + 1) + quotients;
        if bits < best.1 {
            best = (Packing::Rice { k }, bits);
        }
    }
    best
}

fn tag(packing: Packing) -> u8 {
    let tag = match packing {
        Packing::BitPack { width } => width,
        Packing::Rice { k } => k + u32::from(TAG_RICE_FIRST),
    };
    u8::try_from(tag).expect("widths ≤ 64 and Rice k ≤ 62 fit in 7 bits")
}

fn write_codes(codes: &[u64], packing: Packing, out: &mut Vec<u8>) {
    let mut writer = BitWriter::new(out);
    match packing {
        Packing::BitPack { width } => {
            for &code in codes {
                writer.write_bits(code, width);
            }
        }
        Packing::Rice { k } => {
            for &code in codes {
                writer.write_unary(code >> k);
                writer.write_bits(code, k);
            }
        }
    }
    writer.finish();
}

/// Appends `count` raw codes (as `i64` bit patterns) to `out`.
fn read_codes(
    bits: &mut BitReader<'_>,
    packing: Packing,
    count: usize,
    out: &mut Vec<i64>,
) -> Result<(), CodecError> {
    match packing {
        Packing::BitPack { width } => {
            let width_usize = usize::try_from(width).expect("at most 64");
            reserve_decoded(out, count, bits.remaining_bits(), width_usize);
            for _ in 0..count {
                out.push(bits.read_bits(width)? as i64);
            }
        }
        Packing::Rice { k } => {
            let k_usize = usize::try_from(k).expect("at most 62");
            reserve_decoded(out, count, bits.remaining_bits(), k_usize + 1);
            let quotient_max = u64::MAX >> k;
            for _ in 0..count {
                out.push(bits.read_rice(k, quotient_max)? as i64);
            }
        }
    }
    Ok(())
}

fn varint_len(value: u64) -> u32 {
    bit_width(value).div_ceil(7).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(deltas: &[i64]) -> Vec<u8> {
        let mut encoded = Vec::new();
        encode(deltas, &mut encoded);
        let mut input = ByteReader::new(&encoded);
        let mut decoded = vec![7];
        decode(&mut input, deltas.len(), &mut decoded).unwrap();
        input.finish().unwrap();
        assert_eq!(decoded.get(1..).unwrap(), deltas);
        encoded
    }

    #[test]
    fn chooses_the_expected_packing() {
        // (deltas, expected tag, expected encoded bytes)
        let constant_rate = vec![1000; 100];
        let mut geometric: Vec<i64> = (0..200).map(|i| i % 3).collect();
        geometric.push(5000);
        let cases: [(&[i64], u8, usize); 5] = [
            (&[], 0, 1),
            (&[0, 0, 0], 0, 1),
            (&constant_rate, TAG_OFFSET, 1 + 2),
            (&[-1, 1, -1, 1], 2, 1 + 1),
            // One outlier: Rice k = 4 costs 201 · 5 + 5000 >> 4 = 1317 bits, packing 13 bits
            // each 2613; offsets from the minimum 0 beat zigzag codes (twice as large).
            (&geometric, TAG_OFFSET | (TAG_RICE_FIRST + 4), 1 + 1 + 165),
        ];
        for (deltas, expected_tag, expected_len) in cases {
            let encoded = round_trip(deltas);
            assert_eq!(encoded.first(), Some(&expected_tag), "{deltas:?}");
            assert_eq!(encoded.len(), expected_len, "{deltas:?}");
        }
    }

    #[test]
    fn rejects_unterminated_rice_quotient() {
        let mut input = ByteReader::new(&[TAG_RICE_FIRST + 62, 0xff, 0xff]);
        let err = decode(&mut input, 1, &mut Vec::new()).unwrap_err();
        assert_eq!(err, CodecError::invalid("unary run", "above 3"));
        let mut input = ByteReader::new(&[TAG_RICE_FIRST, 0xff, 0xff]);
        let err = decode(&mut input, 1, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err,
            CodecError::Truncated {
                available: 3,
                needed: 1
            }
        );
    }

    proptest! {
        #[test]
        fn round_trips(deltas in prop::collection::vec(any::<i64>(), 0..50),
                       small in prop::collection::vec(-300i64..300, 0..300)) {
            round_trip(&deltas);
            round_trip(&small);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64),
                                count in 0usize..100) {
            let _ = decode(&mut ByteReader::new(&bytes), count, &mut Vec::new());
        }
    }
}
