//! Test-only read path: prints every row of one storage measurement, one row per line as
//! `column=value` pairs (`time` in nanoseconds, strings quoted, integers with `i`, unsigned
//! with `u`). The client-library checks in `.ci/run` verify what they wrote with it. It reads
//! a data directory no server holds; it is not a query interface.
//!
//! ```text
//! cargo run -p rusts_storage --example dump -- DATA_DIR DATABASE MEASUREMENT
//! ```

#[path = "support/row_text.rs"]
mod row_text;

use rusts_storage::{Engine, ScanRequest, StorageOptions, WalDurability};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data_dir, database, measurement] = args.as_slice() else {
        eprintln!("usage: dump DATA_DIR DATABASE MEASUREMENT");
        std::process::exit(2);
    };
    let options = StorageOptions {
        data_dir: data_dir.into(),
        wal_durability: WalDurability::None,
        ..StorageOptions::default()
    };
    let engine = Engine::open(options).expect("open the data directory");
    let scan = engine.scan(&ScanRequest::new(&format!("{database}\0{measurement}")));
    let scan = scan.unwrap_or_else(|error| {
        eprintln!("{error}");
        std::process::exit(1);
    });
    for batch in scan {
        let batch = batch.expect("scan");
        for row in 0..batch.num_rows() {
            println!("{}", row_text::row_text(&batch, row));
        }
    }
}
