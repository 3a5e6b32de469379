//! Recovery at open from damaged files: torn and corrupt tails of the last file are dropped
//! with a warning, damage anywhere else is refused naming the file.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};

use tempfile::TempDir;

use super::super::format::{FILE_HEADER_BYTES, FileHeader, RECORD_HEADER_BYTES, RecordHeader};
use super::*;
use crate::limits::WAL_RECORD_BYTES_MAX;

/// Captures the text of WARN events, to check what recovery reports.
#[derive(Debug, Clone, Default)]
struct WarnCapture {
    warnings: Arc<StdMutex<Vec<String>>>,
}

struct FieldText<'a>(&'a mut String);

impl tracing::field::Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        write!(self.0, "{}={value:?} ", field.name()).unwrap();
    }
}

impl tracing::Subscriber for WarnCapture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut text = String::new();
            event.record(&mut FieldText(&mut text));
            self.warnings.lock().unwrap().push(text);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Opens with warnings captured; returns the WAL, the replay and the warnings.
fn open_capturing(options: &WalOptions) -> (Wal, Records, Vec<String>) {
    let capture = WarnCapture::default();
    let (wal, replayed) =
        tracing::subscriber::with_default(capture.clone(), || open(options)).unwrap();
    let warnings = capture.warnings.lock().unwrap().clone();
    (wal, replayed, warnings)
}

/// Writes 5 records (the last with a 20-byte payload) into one file; returns the options,
/// the records, the file and the offset where the last record starts.
fn torn_tail_fixture(temp: &TempDir) -> (WalOptions, Records, PathBuf, u64) {
    let options = options_in(temp.path(), WalDurability::OsDefault, 1 << 20);
    let (wal, _) = open(&options).unwrap();
    let mut records = Vec::new();
    append_all(&wal, 0..4, &mut records);
    let last = vec![0xA5; 20];
    records.push((wal.append(&last).unwrap().0, last));
    wal.close().unwrap();
    let files = wal_files(&options.dir);
    assert_eq!(files.len(), 1);
    let file = files[0].clone();
    let last_start = fs::metadata(&file).unwrap().len() - (RECORD_HEADER_BYTES as u64 + 20);
    (options, records, file, last_start)
}

/// Reopens a WAL whose last record was damaged; checks the replay, the warning, and that
/// appending afterwards works and replays.
fn check_torn_tail_recovery(options: &WalOptions, records: &Records, file: &Path, cut: u64) {
    let (wal, replayed, warnings) = open_capturing(options);
    assert_eq!(replayed, records[..4], "cut at {cut}");
    assert_eq!(warnings.len(), 1, "cut at {cut}: {warnings:?}");
    assert!(
        warnings[0].contains(&format!("path={}", file.display())),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains(&format!("offset={cut} ")),
        "{}",
        warnings[0]
    );
    assert_eq!(
        fs::metadata(file).unwrap().len(),
        cut,
        "truncated to the valid prefix"
    );
    assert_eq!(wal.append(b"after").unwrap(), WalSequence(5));
    wal.close().unwrap();
    let (_wal, replayed, warnings) = open_capturing(options);
    let mut expected = records[..4].to_vec();
    expected.push((5, b"after".to_vec()));
    assert_eq!(replayed, expected, "cut at {cut}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn torn_last_record_is_dropped_at_every_byte_offset() {
    let last_start = torn_tail_fixture(&TempDir::new().unwrap()).3;
    let record_end = last_start + RECORD_HEADER_BYTES as u64 + 20;
    for length in last_start + 1..record_end {
        let temp = TempDir::new().unwrap();
        let (options, records, file, _) = torn_tail_fixture(&temp);
        OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(length)
            .unwrap();
        let (wal, _, warnings) = open_capturing(&options);
        let bytes_dropped = length - last_start;
        assert!(
            warnings[0].contains(&format!("bytes_dropped={bytes_dropped} ")),
            "{warnings:?}"
        );
        drop(wal);
        // That open repaired the file; tear it again for the full check.
        OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(length)
            .unwrap();
        check_torn_tail_recovery(&options, &records, &file, last_start);
    }
}

#[test]
fn cut_exactly_before_the_last_record_is_a_clean_end() {
    let temp = TempDir::new().unwrap();
    let (options, records, file, last_start) = torn_tail_fixture(&temp);
    OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(last_start)
        .unwrap();
    let (_wal, replayed, warnings) = open_capturing(&options);
    assert_eq!(replayed, records[..4]);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn corrupt_last_record_is_dropped_whichever_byte_flips() {
    for index in 0..RECORD_HEADER_BYTES as u64 + 20 {
        let temp = TempDir::new().unwrap();
        let (options, records, file, last_start) = torn_tail_fixture(&temp);
        flip_byte(&file, last_start + index);
        check_torn_tail_recovery(&options, &records, &file, last_start);
    }
}

fn flip_byte(file: &Path, offset: u64) {
    let mut bytes = fs::read(file).unwrap();
    bytes[usize::try_from(offset).unwrap()] ^= 0x10;
    fs::write(file, bytes).unwrap();
}

#[test]
fn torn_header_of_the_last_file_removes_it() {
    let temp = TempDir::new().unwrap();
    let (options, records, file, _) = torn_tail_fixture(&temp);
    let torn = options.dir.join(format::file_name(40));
    fs::write(&torn, [0x52, 0x55, 0x53]).unwrap();
    let (wal, replayed, warnings) = open_capturing(&options);
    assert_eq!(replayed, records);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        fs::metadata(&torn).unwrap().len(),
        FILE_HEADER_BYTES as u64,
        "recreated"
    );
    // Its name promised sequences below 40 would not be used again.
    assert_eq!(wal.next_sequence(), WalSequence(40));
    assert_eq!(wal.append(b"x").unwrap(), WalSequence(40));
    wal.close().unwrap();
    assert_eq!(wal_files(&options.dir).len(), 2);
    assert_eq!(wal_files(&options.dir)[0], file);
    let (_wal, replayed) = open(&options).unwrap();
    assert_eq!(replayed.len(), 6);
}

/// Three files of records; returns the options and the files.
fn three_files(temp: &TempDir) -> (WalOptions, Vec<PathBuf>) {
    let options = options_in(temp.path(), WalDurability::OsDefault, 1 << 20);
    let (wal, _) = open(&options).unwrap();
    let mut records = Vec::new();
    for part in 0..3 {
        append_all(&wal, part * 10..part * 10 + 10, &mut records);
        wal.rotate().unwrap();
    }
    wal.close().unwrap();
    let files = wal_files(&options.dir);
    assert_eq!(files.len(), 4, "three full files and the empty current one");
    (options, files)
}

fn expect_corrupt(options: &WalOptions, file: &Path, what_expected: &str, reason_part: &str) {
    match open(options) {
        Err(Error::Corrupt {
            what, path, reason, ..
        }) => {
            assert_eq!(path, file);
            assert_eq!(what, what_expected);
            assert!(reason.contains(reason_part), "{reason}");
        }
        other => panic!("expected corruption in {}, got {other:?}", file.display()),
    }
}

#[test]
fn damage_in_an_earlier_file_is_refused_naming_it() {
    let temp = TempDir::new().unwrap();
    let (options, files) = three_files(&temp);
    flip_byte(&files[0], FILE_HEADER_BYTES as u64 + 20);
    expect_corrupt(&options, &files[0], "WAL record", "checksum");
    // Refused, not repaired: the file is as it was.
    expect_corrupt(&options, &files[0], "WAL record", "checksum");

    let temp = TempDir::new().unwrap();
    let (options, files) = three_files(&temp);
    let length = fs::metadata(&files[1]).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&files[1])
        .unwrap()
        .set_len(length - 3)
        .unwrap();
    expect_corrupt(&options, &files[1], "WAL record", "torn");

    let temp = TempDir::new().unwrap();
    let (options, files) = three_files(&temp);
    flip_byte(&files[1], 3);
    expect_corrupt(&options, &files[1], "WAL file header", "magic");

    let temp = TempDir::new().unwrap();
    let (options, files) = three_files(&temp);
    OpenOptions::new()
        .write(true)
        .open(&files[1])
        .unwrap()
        .set_len(10)
        .unwrap();
    expect_corrupt(
        &options,
        &files[1],
        "WAL file header",
        "shorter than its header",
    );
}

#[test]
fn a_missing_file_between_others_is_refused() {
    let temp = TempDir::new().unwrap();
    let (options, files) = three_files(&temp);
    fs::remove_file(&files[1]).unwrap();
    expect_corrupt(
        &options,
        &files[2],
        "WAL file header",
        "continues from sequence 21",
    );
}

#[test]
fn a_renamed_file_is_refused() {
    let temp = TempDir::new().unwrap();
    let (options, files) = three_files(&temp);
    let renamed = options.dir.join(format::file_name(12));
    fs::rename(&files[1], &renamed).unwrap();
    expect_corrupt(&options, &renamed, "WAL file header", "the name says 12");

    let malformed = options.dir.join("wal-12.log");
    fs::rename(&renamed, &malformed).unwrap();
    expect_corrupt(&options, &malformed, "WAL file name", "20 digits");
}

#[test]
fn an_oversized_declared_length_is_corruption_not_an_allocation() {
    let oversized = RecordHeader {
        payload_len: u32::try_from(WAL_RECORD_BYTES_MAX + 1).unwrap(),
        crc: 0,
        sequence: 31,
    };
    let temp = TempDir::new().unwrap();
    let (options, files) = three_files(&temp);
    let mut file = OpenOptions::new().append(true).open(&files[3]).unwrap();
    std::io::Write::write_all(&mut file, &oversized.encode()).unwrap();
    let (_wal, replayed, warnings) = open_capturing(&options);
    assert_eq!(replayed.len(), 30);
    assert!(
        warnings[0].contains("exceeds the record limit"),
        "{warnings:?}"
    );

    let temp = TempDir::new().unwrap();
    let (options, files) = three_files(&temp);
    let mut file = OpenOptions::new().append(true).open(&files[2]).unwrap();
    std::io::Write::write_all(&mut file, &oversized.encode()).unwrap();
    expect_corrupt(
        &options,
        &files[2],
        "WAL record",
        "declared length 268435457",
    );
}

#[test]
fn a_replay_error_stops_open() {
    let temp = TempDir::new().unwrap();
    let (options, files) = three_files(&temp);
    let mut seen = 0;
    let outcome = Wal::open(options.clone(), &mut |_, _| {
        seen += 1;
        if seen == 12 {
            Err(Error::InvalidWrite {
                reason: "bad batch".to_owned(),
            })
        } else {
            Ok(())
        }
    });
    assert!(matches!(outcome, Err(Error::InvalidWrite { .. })));
    assert_eq!(wal_files(&options.dir), files, "nothing changed");
}

#[test]
fn header_records_the_jump_made_by_next_sequence_min() {
    let temp = TempDir::new().unwrap();
    let mut options = options_in(temp.path(), WalDurability::OsDefault, 1 << 20);
    let (wal, _) = open(&options).unwrap();
    wal.append(b"one").unwrap();
    wal.close().unwrap();
    options.next_sequence_min = WalSequence(10);
    drop(open(&options).unwrap());
    let files = wal_files(&options.dir);
    let header = fs::read(&files[1]).unwrap();
    let header = FileHeader::decode(header[..FILE_HEADER_BYTES].try_into().unwrap()).unwrap();
    assert_eq!(
        header,
        FileHeader {
            first: 10,
            continues_from: 2
        }
    );
}
