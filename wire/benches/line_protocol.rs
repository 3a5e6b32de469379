//! Line-protocol parsing throughput.
//!
//! Scenario `tsbs_cpu`: a 5,000-line body shaped like TSBS's `cpu-only` use case (seeded, so
//! every run parses the same bytes): 10 tags (`hostname`, `region`, `datacenter`, `rack`, `os`,
//! `arch`, `team`, `service`, `service_version`, `service_environment`) over 100 hosts, 10
//! float fields with two decimals (`usage_user` … `usage_guest_nice`), nanosecond timestamps
//! 10 s apart, `\n` endings, no escapes. The callback only sums the field count, so the
//! numbers are the parser's alone.
//!
//! Group `line_protocol/parse`, two benches over the same body:
//! - `tsbs_cpu_bytes` (`Throughput::Bytes`): MB/s, the number to watch; compare as a ratio
//!   against `main` on the same machine (±5% is noise);
//! - `tsbs_cpu_lines` (`Throughput::Elements`): lines per second.

use std::fmt::Write;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rusts_wire::line_protocol::parse_lines;

/// Lines in the body.
const LINES: usize = 5_000;

/// xorshift64*: seeded data without a `rand` dependency.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

const REGIONS: [&str; 4] = ["eu-west-1", "us-east-1", "us-west-2", "ap-northeast-1"];
const OPERATING_SYSTEMS: [&str; 3] = ["Ubuntu16.04LTS", "Ubuntu15.10", "Ubuntu16.10"];
const ARCHITECTURES: [&str; 2] = ["x64", "x86"];
const TEAMS: [&str; 4] = ["LON", "NYC", "SF", "CHI"];
const ENVIRONMENTS: [&str; 3] = ["production", "staging", "test"];
const FIELDS: [&str; 10] = [
    "usage_user",
    "usage_system",
    "usage_idle",
    "usage_nice",
    "usage_iowait",
    "usage_irq",
    "usage_softirq",
    "usage_steal",
    "usage_guest",
    "usage_guest_nice",
];

/// The tag set of each of the 100 hosts.
fn host_tags(rng: &mut Rng) -> Vec<String> {
    (0..100)
        .map(|host| {
            let region = REGIONS[rng.below(4) as usize];
            format!(
                "hostname=host_{host},region={region},datacenter={region}{zone},rack={rack},\
                 os={os},arch={arch},team={team},service={service},service_version={version},\
                 service_environment={environment}",
                zone = ["a", "b", "c"][rng.below(3) as usize],
                rack = rng.below(100),
                os = OPERATING_SYSTEMS[rng.below(3) as usize],
                arch = ARCHITECTURES[rng.below(2) as usize],
                team = TEAMS[rng.below(4) as usize],
                service = rng.below(20),
                version = rng.below(2),
                environment = ENVIRONMENTS[rng.below(3) as usize],
            )
        })
        .collect()
}

fn tsbs_cpu_body() -> String {
    let mut rng = Rng(0x5eed);
    let hosts = host_tags(&mut rng);
    let mut body = String::new();
    for index in 0..LINES {
        let host = index % hosts.len();
        body.push_str("cpu,");
        body.push_str(&hosts[host]);
        for (position, field) in FIELDS.iter().enumerate() {
            let separator = if position == 0 { ' ' } else { ',' };
            let value = rng.below(10_000);
            write!(
                body,
                "{separator}{field}={}.{:02}",
                value / 100,
                value % 100
            )
            .unwrap();
        }
        let timestamp_ns =
            1_767_225_600_000_000_000u64 + (index / hosts.len()) as u64 * 10_000_000_000;
        writeln!(body, " {timestamp_ns}").unwrap();
    }
    body
}

fn parse_body(body: &[u8]) -> usize {
    let mut fields = 0;
    parse_lines(body, |line| {
        fields += line.map_or(0, |line| line.fields.len());
    });
    fields
}

fn bench_parse(criterion: &mut Criterion) {
    let body = tsbs_cpu_body();
    assert_eq!(parse_body(body.as_bytes()), LINES * FIELDS.len());
    let mut group = criterion.benchmark_group("line_protocol/parse");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("tsbs_cpu_bytes", |bencher| {
        bencher.iter(|| parse_body(black_box(body.as_bytes())));
    });
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("tsbs_cpu_lines", |bencher| {
        bencher.iter(|| parse_body(black_box(body.as_bytes())));
    });
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
