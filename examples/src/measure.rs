//! Small measurement helpers shared by the load tools: latency percentiles over every sample,
//! and the process's own CPU time and peak resident memory from `/proc` (Linux only; other
//! systems report `None`).

use std::time::Duration;

/// The `p`-th percentile (0 < p <= 100) of `sorted` by the nearest-rank method: the smallest
/// sample with at least `p`% of the samples at or below it. `None` for no samples.
///
/// ```
/// use kommo_loops_examples::measure::percentile;
/// let samples: Vec<u64> = (1..=100).collect();
/// assert_eq!(percentile(&samples, 50.0), Some(50));
/// assert_eq!(percentile(&samples, 99.0), Some(99));
/// assert_eq!(percentile(&samples, 100.0), Some(100));
/// ```
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Latency figures in milliseconds, from samples in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LatencySummary {
    /// The median.
    pub p50_ms: f64,
    /// The 99th percentile.
    pub p99_ms: f64,
    /// The largest sample.
    pub max_ms: f64,
}

impl LatencySummary {
    /// Sorts `micros` in place and summarises it (all zero for no samples).
    pub fn from_micros(micros: &mut [u64]) -> Self {
        micros.sort_unstable();
        let ms = |v: Option<u64>| v.map_or(0.0, |v| v as f64 / 1000.0);
        LatencySummary {
            p50_ms: ms(percentile(micros, 50.0)),
            p99_ms: ms(percentile(micros, 99.0)),
            max_ms: ms(micros.last().copied()),
        }
    }
}

/// What the kernel accounts to this process so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessUsage {
    /// User plus system CPU time of all threads.
    pub cpu: Duration,
    /// Peak resident set size (`VmHWM`), in bytes.
    pub peak_rss_bytes: u64,
}

/// Linux reports `/proc/<pid>/stat` times in `USER_HZ` ticks, fixed at 100 per second.
const USER_HZ: u64 = 100;

impl ProcessUsage {
    /// Reads this process's usage, or `None` where `/proc` is not there. The CPU time comes
    /// from the process CPU clock (nanoseconds) where there is one, else from `/proc` (10 ms
    /// steps).
    pub fn current() -> Option<Self> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let cpu = match process_cpu_clock() {
            Some(cpu) => cpu,
            None => parse_stat_cpu(&std::fs::read_to_string("/proc/self/stat").ok()?)?,
        };
        Some(ProcessUsage {
            cpu,
            peak_rss_bytes: parse_status_kib(&status, "VmHWM:")? * 1024,
        })
    }
}

#[cfg(unix)]
fn process_cpu_clock() -> Option<Duration> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Some(Duration::new(
        u64::try_from(t.tv_sec).ok()?,
        u32::try_from(t.tv_nsec).ok()?,
    ))
}

#[cfg(not(unix))]
fn process_cpu_clock() -> Option<Duration> {
    None
}

/// User plus system time from a `/proc/<pid>/stat` line (fields 14 and 15, counted after the
/// command name, which may itself contain spaces and parentheses).
pub fn parse_stat_cpu(stat: &str) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // After the name: state (3), ppid (4), ... utime is field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime + stime;
    Some(Duration::from_millis(ticks * 1000 / USER_HZ))
}

/// A `kB` figure such as `VmHWM:     5120 kB` from `/proc/<pid>/status`.
pub fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Rounds to three decimals, so JSON lines stay readable.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_every_sample() {
        let table: [(&[u64], f64, Option<u64>); 7] = [
            (&[], 50.0, None),
            (&[7], 50.0, Some(7)),
            (&[7], 99.0, Some(7)),
            (&[1, 2], 50.0, Some(1)),
            (&[1, 2], 99.0, Some(2)),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 1000], 99.0, Some(1000)),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 1000], 90.0, Some(9)),
        ];
        for (samples, p, expected) in table {
            assert_eq!(percentile(samples, p), expected, "{samples:?} p{p}");
        }
        // One slow request in 200 shows at p99.5 and above, not at p99.
        let mut samples = vec![1000u64; 199];
        samples.push(50_000);
        let summary = LatencySummary::from_micros(&mut samples);
        assert_eq!(summary.p50_ms, 1.0);
        assert_eq!(summary.p99_ms, 1.0);
        assert_eq!(summary.max_ms, 50.0);
    }

    #[test]
    fn proc_parsing() {
        // A command name with spaces and a parenthesis must not shift the fields.
        let stat =
            "4242 (tokio (rt) w) S 1 4242 4242 0 -1 4194560 1507 0 0 0 250 37 0 0 20 0 3 0 1 1 1";
        assert_eq!(parse_stat_cpu(stat), Some(Duration::from_millis(2870)));
        assert_eq!(parse_stat_cpu("garbage"), None);
        let status = "Name:\tloadgen\nVmPeak:\t  100 kB\nVmHWM:\t    5120 kB\nVmRSS:\t 4000 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM:"), Some(5120));
        assert_eq!(parse_status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn this_process_is_measurable_on_linux() {
        if cfg!(target_os = "linux") {
            let usage = ProcessUsage::current().expect("/proc is readable");
            assert!(usage.peak_rss_bytes > 0);
        }
    }
}
