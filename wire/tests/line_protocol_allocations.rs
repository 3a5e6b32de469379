//! Proves the line-protocol parser's allocation contract with a counting global allocator
//! (its own test binary, so no other test allocates concurrently on the counted thread):
//! parsing a body allocates a constant number of times (the reused tag and field vectors,
//! 2 today) whatever its number of lines, so lines and fields without escapes allocate
//! nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusts_wire::line_protocol::{FieldValue, parse_lines};

/// Counts allocations and reallocations made on threads that set `COUNTING`.
struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(pointer, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// A TSBS-like line: 10 tags, 10 fields of every unquoted type and a short string.
const LINE: &str = "cpu,hostname=host_1,region=eu-west-1,datacenter=eu-west-1a,rack=72,\
os=Ubuntu16.04LTS,arch=x64,team=LON,service=12,service_version=0,service_environment=staging \
usage_user=58.12,usage_system=2i,usage_idle=3u,usage_nice=t,usage_iowait=-1.5e-3,\
usage_irq=FALSE,usage_softirq=7i,usage_steal=\"a, b=c\",usage_guest=0.5,\
usage_guest_nice=9 1767225600000000000\n";

/// Allocations made while parsing `lines` copies of `LINE` (the body is built first).
fn allocations_for(lines: usize) -> (usize, usize) {
    let body = LINE.repeat(lines);
    let mut fields = 0;
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.with(|counting| counting.set(true));
    parse_lines(body.as_bytes(), |line| {
        let line = line.expect("valid line");
        fields += line
            .fields
            .iter()
            .filter(|(_, value)| !matches!(value, FieldValue::String(_)))
            .count();
    });
    COUNTING.with(|counting| counting.set(false));
    (ALLOCATIONS.load(Ordering::Relaxed), fields)
}

#[test]
fn allocations_do_not_grow_with_lines_or_fields() {
    let (one_line, fields) = allocations_for(1);
    assert_eq!(fields, 9);
    let (many_lines, fields) = allocations_for(1000);
    assert_eq!(fields, 9000);
    assert_eq!(
        one_line, 2,
        "the tag and field vectors, allocated once per body"
    );
    assert_eq!(many_lines, one_line, "no allocation per line or per field");
}
