//! Tests of the WAL through its API, as the engine uses it. Recovery from damaged files is
//! in `tests/recovery.rs`, the model-based property test in `tests/model.rs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::*;
use crate::limits::WAL_RECORD_BYTES_MAX;

mod model;
mod recovery;

type Records = Vec<(u64, Vec<u8>)>;

const WRITING_MODES: [WalDurability; 3] = [
    WalDurability::EveryWrite,
    WalDurability::Periodic {
        interval: Duration::from_millis(5),
    },
    WalDurability::OsDefault,
];

fn options_in(dir: &Path, durability: WalDurability, file_bytes_max: u64) -> WalOptions {
    WalOptions {
        dir: dir.join("wal"),
        durability,
        file_bytes_max,
        next_sequence_min: WalSequence::default(),
    }
}

fn open(options: &WalOptions) -> Result<(Wal, Records)> {
    let mut replayed = Vec::new();
    let wal = Wal::open(options.clone(), &mut |sequence, payload| {
        replayed.push((sequence.0, payload.to_vec()));
        Ok(())
    })?;
    Ok((wal, replayed))
}

/// A payload whose size varies with `index` (0 to 99 bytes) and whose bytes name it.
fn payload(index: usize) -> Vec<u8> {
    let mut bytes = format!("record {index};").into_bytes();
    bytes.resize(index * 37 % 100, b'x');
    bytes
}

fn append_all(wal: &Wal, indexes: std::ops::Range<usize>, records: &mut Records) {
    for index in indexes {
        let bytes = payload(index);
        let sequence = wal.append(&bytes).unwrap();
        wal.commit(sequence).unwrap();
        records.push((sequence.0, bytes));
    }
}

/// The WAL files in `dir`, oldest first.
fn wal_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
        .collect();
    files.sort();
    files
}

fn first_sequence(path: &Path) -> u64 {
    match format::parse_file_name(path.file_name().unwrap().to_str().unwrap()) {
        format::FileName::Wal(first) => first,
        other => panic!("{} is {other:?}", path.display()),
    }
}

#[test]
fn wal_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Wal>();
}

#[test]
fn replay_equals_appended_across_rotations_and_reopens_in_every_mode() {
    for durability in WRITING_MODES.into_iter().chain([WalDurability::None]) {
        let temp = TempDir::new().unwrap();
        let options = options_in(temp.path(), durability, 300);
        let (wal, replayed) = open(&options).unwrap();
        assert!(replayed.is_empty());
        let mut records = Vec::new();
        append_all(&wal, 0..30, &mut records);
        assert_eq!(wal.rotate().unwrap(), WalSequence(30));
        append_all(&wal, 30..50, &mut records);
        wal.close().unwrap();

        let expected = if durability == WalDurability::None {
            Vec::new()
        } else {
            records
        };
        let (wal, replayed) = open(&options).unwrap();
        assert_eq!(replayed, expected, "{durability:?}");
        // `None` keeps no trace of its sequences: only `next_sequence_min` carries them over.
        let next = if durability == WalDurability::None {
            1
        } else {
            51
        };
        assert_eq!(wal.next_sequence(), WalSequence(next), "{durability:?}");
        let mut records = expected;
        append_all(&wal, 50..60, &mut records);
        // Dropped without close: as after a process kill, the OS still has every write.
        drop(wal);

        let (_wal, replayed) = open(&options).unwrap();
        if durability == WalDurability::None {
            assert!(replayed.is_empty());
            assert!(wal_files(&options.dir).is_empty(), "None writes no file");
        } else {
            assert_eq!(replayed, records, "{durability:?}");
            assert!(
                wal_files(&options.dir).len() > 3,
                "{durability:?} rotated by size"
            );
        }
    }
}

#[test]
fn none_mode_replays_files_left_by_a_writing_mode() {
    let temp = TempDir::new().unwrap();
    let (wal, _) = open(&options_in(temp.path(), WalDurability::OsDefault, 1 << 20)).unwrap();
    let mut records = Vec::new();
    append_all(&wal, 0..5, &mut records);
    wal.close().unwrap();
    let none = options_in(temp.path(), WalDurability::None, 1 << 20);
    let (wal, replayed) = open(&none).unwrap();
    assert_eq!(replayed, records);
    assert_eq!(wal.append(b"unwritten").unwrap(), WalSequence(6));
    // The files left behind are closed: removable once the engine flushed their records.
    assert_eq!(wal.remove_through(WalSequence(5)).unwrap(), 1);
    assert!(wal_files(&none.dir).is_empty());
}

#[test]
fn payload_over_the_limit_is_refused_in_every_mode() {
    let oversized = vec![0_u8; WAL_RECORD_BYTES_MAX + 1];
    for durability in WRITING_MODES.into_iter().chain([WalDurability::None]) {
        let temp = TempDir::new().unwrap();
        let (wal, _) = open(&options_in(temp.path(), durability, 1 << 20)).unwrap();
        match wal.append(&oversized) {
            Err(Error::LimitExceeded { what, value, limit }) => {
                assert_eq!(
                    (what, value, limit),
                    ("WAL record bytes", 268_435_457, 268_435_456)
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(wal.next_sequence(), WalSequence(1), "no sequence used");
    }
}

#[test]
fn group_commit_shares_fsyncs_between_concurrent_writers() {
    const THREADS: usize = 8;
    const COMMITS_PER_THREAD: usize = 200;
    let temp = TempDir::new().unwrap();
    let options = options_in(temp.path(), WalDurability::EveryWrite, 64 << 20);
    let (wal, _) = open(&options).unwrap();
    let wal = Arc::new(wal);
    let writers: Vec<_> = (0..THREADS)
        .map(|thread_index| {
            let wal = Arc::clone(&wal);
            thread::spawn(move || {
                let mut written = Vec::new();
                for index in 0..COMMITS_PER_THREAD {
                    let bytes = format!("thread {thread_index} record {index}").into_bytes();
                    let sequence = wal.append(&bytes).unwrap();
                    wal.commit(sequence).unwrap();
                    assert!(wal.synced_sequence() >= sequence);
                    written.push((sequence.0, bytes));
                }
                written
            })
        })
        .collect();
    let mut records: Records = writers
        .into_iter()
        .flat_map(|writer| writer.join().unwrap())
        .collect();
    records.sort();
    let commits = THREADS * COMMITS_PER_THREAD;
    let fsyncs = wal.shared.commits.fsyncs.load(Ordering::Relaxed);
    println!("group commit: {commits} commits, {fsyncs} fsyncs");
    assert!(
        fsyncs < commits as u64,
        "{fsyncs} fsyncs for {commits} commits"
    );
    wal.close().unwrap();
    let (_wal, replayed) = open(&options).unwrap();
    assert_eq!(replayed.len(), commits);
    assert_eq!(replayed, records);
    assert!(
        replayed
            .iter()
            .enumerate()
            .all(|(index, (sequence, _))| *sequence == index as u64 + 1)
    );
}

#[test]
fn sequences_continue_after_reopen_and_after_removing_everything() {
    let temp = TempDir::new().unwrap();
    let options = options_in(temp.path(), WalDurability::EveryWrite, 1 << 20);
    let (wal, _) = open(&options).unwrap();
    assert_eq!(wal.next_sequence(), WalSequence(1));
    append_all(&wal, 0..3, &mut Vec::new());
    wal.close().unwrap();

    let (wal, replayed) = open(&options).unwrap();
    assert_eq!(replayed.len(), 3);
    assert_eq!(wal.append(b"four").unwrap(), WalSequence(4));
    let last = wal.rotate().unwrap();
    assert_eq!(last, WalSequence(4));
    assert_eq!(wal.remove_through(last).unwrap(), 1);
    wal.close().unwrap();

    let (wal, replayed) = open(&options).unwrap();
    assert!(replayed.is_empty());
    assert_eq!(wal.next_sequence(), WalSequence(5));
    assert_eq!(wal.append(b"five").unwrap(), WalSequence(5));
}

#[test]
fn next_sequence_min_is_honoured_and_the_jump_replays() {
    let temp = TempDir::new().unwrap();
    let mut options = options_in(temp.path(), WalDurability::EveryWrite, 1 << 20);
    let (wal, _) = open(&options).unwrap();
    let mut records = Vec::new();
    append_all(&wal, 0..3, &mut records);
    wal.close().unwrap();

    options.next_sequence_min = WalSequence(100);
    let (wal, replayed) = open(&options).unwrap();
    assert_eq!(replayed, records);
    assert_eq!(wal.next_sequence(), WalSequence(100));
    append_all(&wal, 3..5, &mut records);
    assert_eq!(records[3].0, 100);
    wal.close().unwrap();

    // A lower minimum changes nothing; the jump from 3 to 100 is not mistaken for damage.
    options.next_sequence_min = WalSequence(2);
    let (wal, replayed) = open(&options).unwrap();
    assert_eq!(replayed, records);
    assert_eq!(wal.next_sequence(), WalSequence(102));
    drop(wal);

    options.durability = WalDurability::None;
    options.next_sequence_min = WalSequence(500);
    let (wal, _) = open(&options).unwrap();
    assert_eq!(wal.append(b"x").unwrap(), WalSequence(500));

    options.next_sequence_min = WalSequence(format::SEQUENCE_LIMIT);
    assert!(matches!(open(&options), Err(Error::InvalidOption { .. })));
}

#[test]
fn remove_through_keeps_the_current_file_and_every_file_with_a_later_record() {
    let temp = TempDir::new().unwrap();
    // Each file takes two or three records.
    let options = options_in(temp.path(), WalDurability::OsDefault, 200);
    let (wal, _) = open(&options).unwrap();
    let mut records = Vec::new();
    append_all(&wal, 0..40, &mut records);
    for through in 0..=41 {
        wal.remove_through(WalSequence(through)).unwrap();
        let files = wal_files(&options.dir);
        let firsts: Vec<u64> = files.iter().map(|file| first_sequence(file)).collect();
        // Closed files end where the next one starts: each must still hold a record past
        // `through`; and the oldest must start at or before `through + 1` (nothing lost).
        for pair in firsts.windows(2) {
            assert!(
                pair[1] - 1 > through,
                "file {firsts:?} kept through {through}"
            );
        }
        assert!(
            firsts[0] <= through + 1,
            "{firsts:?} lost records after {through}"
        );
    }
    // The current file holds records 39 and 40 (at least), all <= 1000, and stays.
    assert_eq!(wal.remove_through(WalSequence(1000)).unwrap(), 0);
    let files = wal_files(&options.dir);
    assert_eq!(files.len(), 1);
    append_all(&wal, 40..41, &mut records);
    drop(wal);
    let (_wal, replayed) = open(&options).unwrap();
    let first = first_sequence(&files[0]);
    assert_eq!(replayed, records[usize::try_from(first - 1).unwrap()..]);
}

#[test]
fn rotate_returns_the_last_sequence_and_skips_an_empty_file() {
    let temp = TempDir::new().unwrap();
    let options = options_in(temp.path(), WalDurability::OsDefault, 1 << 20);
    let (wal, _) = open(&options).unwrap();
    assert_eq!(wal.rotate().unwrap(), WalSequence(0));
    assert_eq!(wal_files(&options.dir).len(), 1);
    wal.append(b"one").unwrap();
    assert_eq!(wal.rotate().unwrap(), WalSequence(1));
    assert_eq!(wal.rotate().unwrap(), WalSequence(1));
    assert_eq!(wal_files(&options.dir).len(), 2);
    assert!(
        wal.synced_sequence() >= WalSequence(1),
        "rotation fsyncs the closed file"
    );

    let (wal, _) = open(&options_in(
        &temp.path().join("none"),
        WalDurability::None,
        1,
    ))
    .unwrap();
    wal.append(b"one").unwrap();
    assert_eq!(wal.rotate().unwrap(), WalSequence(1));
}

#[test]
fn periodic_mode_catches_up_after_the_interval() {
    let temp = TempDir::new().unwrap();
    let durability = WalDurability::Periodic {
        interval: Duration::from_millis(20),
    };
    let (wal, _) = open(&options_in(temp.path(), durability, 1 << 20)).unwrap();
    let mut last = WalSequence::default();
    for index in 0..50 {
        last = wal.append(&payload(index)).unwrap();
        wal.commit(last).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while wal.synced_sequence() < last {
        assert!(
            Instant::now() < deadline,
            "synced {:?} of {last:?}",
            wal.synced_sequence()
        );
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(wal.synced_sequence(), last);
    wal.close().unwrap();
    assert!(wal.syncer.lock().is_none(), "close joined the syncer");
}

#[test]
fn os_default_mode_does_not_fsync_per_commit() {
    let temp = TempDir::new().unwrap();
    let (wal, _) = open(&options_in(temp.path(), WalDurability::OsDefault, 1 << 20)).unwrap();
    append_all(&wal, 0..10, &mut Vec::new());
    assert_eq!(wal.synced_sequence(), WalSequence(0));
    assert_eq!(wal.shared.commits.fsyncs.load(Ordering::Relaxed), 0);
    wal.close().unwrap();
    assert_eq!(wal.synced_sequence(), WalSequence(10));
}

#[test]
fn a_failed_fsync_poisons_the_wal() {
    let temp = TempDir::new().unwrap();
    let (wal, _) = open(&options_in(temp.path(), WalDurability::EveryWrite, 1 << 20)).unwrap();
    let first = wal.append(b"one").unwrap();
    wal.commit(first).unwrap();
    wal.shared
        .commits
        .fail_next_fsync
        .store(true, Ordering::Relaxed);
    let second = wal.append(b"two").unwrap();
    assert!(matches!(
        wal.commit(second),
        Err(Error::Io {
            operation: "fsyncing WAL file",
            ..
        })
    ));
    let poisoned = |result: Result<()>| match result {
        Err(Error::Poisoned { reason }) => assert!(reason.contains("injected"), "{reason}"),
        other => panic!("{other:?}"),
    };
    poisoned(wal.append(b"three").map(drop));
    poisoned(wal.commit(second));
    poisoned(wal.commit(first));
    poisoned(wal.rotate().map(drop));
    poisoned(wal.close());
}

#[test]
fn a_failed_periodic_fsync_poisons_the_wal() {
    let temp = TempDir::new().unwrap();
    let durability = WalDurability::Periodic {
        interval: Duration::from_millis(5),
    };
    let (wal, _) = open(&options_in(temp.path(), durability, 1 << 20)).unwrap();
    wal.shared
        .commits
        .fail_next_fsync
        .store(true, Ordering::Relaxed);
    wal.append(b"one").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while wal.append(b"more").is_ok() {
        assert!(Instant::now() < deadline, "the syncer never failed");
        thread::sleep(Duration::from_millis(5));
    }
    assert!(matches!(
        wal.commit(WalSequence(1)),
        Err(Error::Poisoned { .. })
    ));
}

#[test]
fn close_refuses_later_appends_and_is_idempotent() {
    let temp = TempDir::new().unwrap();
    let (wal, _) = open(&options_in(temp.path(), WalDurability::EveryWrite, 1 << 20)).unwrap();
    let sequence = wal.append(b"one").unwrap();
    wal.close().unwrap();
    wal.close().unwrap();
    assert!(matches!(wal.append(b"two"), Err(Error::ShuttingDown)));
    assert!(matches!(wal.rotate(), Err(Error::ShuttingDown)));
    wal.commit(sequence).unwrap();
    assert_eq!(wal.synced_sequence(), sequence);
}

#[test]
fn a_missing_directory_is_created_and_a_bad_interval_refused() {
    let temp = TempDir::new().unwrap();
    let mut options = options_in(&temp.path().join("a/b"), WalDurability::OsDefault, 1 << 20);
    let (wal, _) = open(&options).unwrap();
    assert!(wal.dir().is_dir());
    options.durability = WalDurability::Periodic {
        interval: Duration::ZERO,
    };
    assert!(matches!(
        open(&options),
        Err(Error::InvalidOption {
            option: "wal_durability",
            ..
        })
    ));
}
