//! The load generator behind the `loadgen` example: `N` `events().send` calls through
//! `loops-client`, `C` in flight, summarised as one JSON line.
//!
//! Request `i` (0-based) is `events().send` for `user{i}@example.com`, event `deal_won`, event
//! property `deal_value = i`, with the client's generated idempotency key, as an application
//! would send it. Every latency is kept (a `u64` per request), so the percentiles are exact.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use loops_client::events::SendEventRequest;
use loops_client::{Client, RateLimit};
use serde::Serialize;

use crate::measure::{LatencySummary, ProcessUsage, round3};

/// The usage line.
pub const USAGE: &str = "usage: loadgen --base URL --n N --concurrency C [--rate-limit RPS|off] \
[--threads T] [--api-key KEY]";

/// The client's pacing as asked on the command line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateLimitArg {
    /// Not given: the client's default (10/s, following `x-ratelimit-limit`).
    Default,
    /// `--rate-limit RPS`.
    Fixed(f64),
    /// `--rate-limit off`: no client-side pacing (429s are still retried).
    Off,
}

impl RateLimitArg {
    /// The client setting.
    pub fn to_rate_limit(self) -> RateLimit {
        match self {
            RateLimitArg::Default => RateLimit::Auto,
            RateLimitArg::Fixed(rps) => RateLimit::Fixed(rps),
            RateLimitArg::Off => RateLimit::Off,
        }
    }

    fn label(self) -> String {
        match self {
            RateLimitArg::Default => "auto".into(),
            RateLimitArg::Fixed(rps) => format!("{rps}"),
            RateLimitArg::Off => "off".into(),
        }
    }
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadgenArgs {
    /// `--base`: the API base, e.g. `http://127.0.0.1:9000/api`.
    pub base: String,
    /// `--n`: requests in total.
    pub n: usize,
    /// `--concurrency`: requests in flight.
    pub concurrency: usize,
    /// `--rate-limit`.
    pub rate_limit: RateLimitArg,
    /// `--threads`: tokio worker threads; 1 (the default) runs a current-thread runtime.
    pub threads: usize,
    /// `--api-key` (default `loadgen-key`).
    pub api_key: String,
}

impl LoadgenArgs {
    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut base = None;
        let mut n = None;
        let mut concurrency = None;
        let mut rate_limit = RateLimitArg::Default;
        let mut threads = 1;
        let mut api_key = "loadgen-key".to_owned();
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--base" => base = Some(value()?),
                "--n" => n = Some(positive(&flag, &value()?)?),
                "--concurrency" => concurrency = Some(positive(&flag, &value()?)?),
                "--threads" => threads = positive(&flag, &value()?)?,
                "--api-key" => api_key = value()?,
                "--rate-limit" => {
                    let v = value()?;
                    rate_limit = if v.eq_ignore_ascii_case("off") {
                        RateLimitArg::Off
                    } else {
                        match v.parse::<f64>() {
                            Ok(rps) if rps.is_finite() && rps > 0.0 => RateLimitArg::Fixed(rps),
                            _ => {
                                return Err(format!(
                                    "--rate-limit {v:?} is neither a positive number nor off"
                                ));
                            }
                        }
                    };
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(LoadgenArgs {
            base: base.ok_or("--base is required")?,
            n: n.ok_or("--n is required")?,
            concurrency: concurrency.ok_or("--concurrency is required")?,
            rate_limit,
            threads,
            api_key,
        })
    }
}

fn positive(flag: &str, value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag} {value:?} is not a positive whole number")),
    }
}

/// The JSON line. The first eight keys are the ones the issue names; the rest say what the
/// run cost this process.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always `loops-client`.
    pub peer: &'static str,
    /// Requests sent.
    pub n: usize,
    /// Requests in flight.
    pub concurrency: usize,
    /// From the first request to the last answer.
    pub seconds: f64,
    /// `n / seconds`.
    pub rps: f64,
    /// Median latency of one `events().send` call (pacing and retries included).
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Calls that ended in an error (after the client's retries).
    pub errors: usize,
    /// The slowest call.
    pub max_ms: f64,
    /// `--rate-limit` as given (`auto` when absent).
    pub rate_limit: String,
    /// Tokio worker threads (1: current-thread runtime).
    pub threads: usize,
    /// CPU time (user + system, all threads) of the run, per request.
    pub cpu_ms_per_request: Option<f64>,
    /// CPU time of the run.
    pub cpu_seconds: Option<f64>,
    /// CPU time before the first request (runtime and client set-up).
    pub startup_cpu_ms: Option<f64>,
    /// Peak resident memory of the process (`VmHWM`), in MiB.
    pub peak_rss_mb: Option<f64>,
}

impl Report {
    /// The report as one line of JSON.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// Builds the client the run uses.
pub fn client(args: &LoadgenArgs) -> Result<Client, String> {
    Client::builder()
        .api_key(args.api_key.clone())
        .base_url(args.base.clone())
        .rate_limit(args.rate_limit.to_rate_limit())
        .build()
        .map_err(|e| format!("cannot build the client: {e}"))
}

/// Request `i` of the workload.
pub fn request(i: usize) -> SendEventRequest {
    SendEventRequest::by_email(format!("user{i}@example.com"), "deal_won")
        .event_property("deal_value", i as u64)
}

/// Runs the workload. `first_error` receives the first failure's text (for stderr).
pub async fn run(args: &LoadgenArgs, first_error: &mut Option<String>) -> Result<Report, String> {
    let events = client(args)?.events();
    let before = ProcessUsage::current();
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(args.n);
    let mut errors = 0;
    let mut calls = futures_util::stream::iter(0..args.n)
        .map(|i| {
            let events = events.clone();
            async move {
                let request = request(i);
                let t0 = Instant::now();
                let outcome = events.send(&request).await;
                (elapsed_micros(t0.elapsed()), outcome.err())
            }
        })
        .buffer_unordered(args.concurrency);
    while let Some((micros, error)) = calls.next().await {
        latencies.push(micros);
        if let Some(e) = error {
            errors += 1;
            first_error.get_or_insert_with(|| e.to_string());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let after = ProcessUsage::current();

    let latency = LatencySummary::from_micros(&mut latencies);
    let run_cpu = match (before, after) {
        (Some(b), Some(a)) => Some(a.cpu.saturating_sub(b.cpu)),
        _ => None,
    };
    Ok(Report {
        peer: "loops-client",
        n: args.n,
        concurrency: args.concurrency,
        seconds: round3(seconds),
        rps: round3(args.n as f64 / seconds.max(1e-9)),
        p50_ms: latency.p50_ms,
        p99_ms: latency.p99_ms,
        errors,
        max_ms: latency.max_ms,
        rate_limit: args.rate_limit.label(),
        threads: args.threads,
        // Microsecond precision: a request costs tens of microseconds.
        cpu_ms_per_request: run_cpu
            .map(|cpu| (cpu.as_secs_f64() * 1e9 / args.n as f64).round() / 1e6),
        cpu_seconds: run_cpu.map(|cpu| round3(cpu.as_secs_f64())),
        startup_cpu_ms: before.map(|b| round3(b.cpu.as_secs_f64() * 1000.0)),
        peak_rss_mb: after.map(|a| round3(a.peak_rss_bytes as f64 / (1024.0 * 1024.0))),
    })
}

fn elapsed_micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<LoadgenArgs, String> {
        LoadgenArgs::parse(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn command_line() {
        let parsed = args(&[
            "--base",
            "http://127.0.0.1:1/api",
            "--n",
            "10",
            "--concurrency",
            "4",
        ])
        .unwrap();
        assert_eq!(parsed.rate_limit, RateLimitArg::Default);
        assert_eq!((parsed.n, parsed.concurrency, parsed.threads), (10, 4, 1));
        let base = ["--base", "b", "--n", "1", "--concurrency", "1"];
        let with = |extra: &[&str]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            args(&all)
        };
        assert_eq!(
            with(&["--rate-limit", "off"]).unwrap().rate_limit,
            RateLimitArg::Off
        );
        assert_eq!(
            with(&["--rate-limit", "OFF"]).unwrap().rate_limit,
            RateLimitArg::Off
        );
        assert_eq!(
            with(&["--rate-limit", "200"]).unwrap().rate_limit,
            RateLimitArg::Fixed(200.0)
        );
        assert_eq!(
            RateLimitArg::Off.to_rate_limit(),
            loops_client::RateLimit::Off
        );
        for (bad, expected) in [
            (vec!["--rate-limit", "0"], "positive number"),
            (vec!["--rate-limit", "fast"], "positive number"),
            (vec!["--rate-limit"], "needs a value"),
            (vec!["--threads", "0"], "positive whole number"),
            (vec!["--bogus"], "unknown argument"),
        ] {
            let err = with(&bad).unwrap_err();
            assert!(err.contains(expected), "{bad:?}: {err}");
        }
        assert!(
            args(&["--n", "1", "--concurrency", "1"])
                .unwrap_err()
                .contains("--base")
        );
        assert!(
            args(&["--base", "b", "--concurrency", "1"])
                .unwrap_err()
                .contains("--n")
        );
    }

    #[test]
    fn the_workload() {
        let body = request(41).to_api_request().unwrap();
        assert_eq!(
            std::str::from_utf8(body.body().unwrap()).unwrap(),
            r#"{"email":"user41@example.com","eventName":"deal_won","eventProperties":{"deal_value":41}}"#
        );
    }

    #[test]
    fn the_line_has_the_named_keys_first() {
        let report = Report {
            peer: "loops-client",
            n: 2,
            concurrency: 1,
            seconds: 0.5,
            rps: 4.0,
            p50_ms: 1.0,
            p99_ms: 2.0,
            errors: 0,
            max_ms: 2.0,
            rate_limit: "off".into(),
            threads: 1,
            cpu_ms_per_request: Some(0.1),
            cpu_seconds: Some(0.0002),
            startup_cpu_ms: Some(3.0),
            peak_rss_mb: Some(5.0),
        };
        let line = report.to_json_line();
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with(
                r#"{"peer":"loops-client","n":2,"concurrency":1,"seconds":0.5,"rps":4.0,"p50_ms":1.0,"p99_ms":2.0,"errors":0,"#
            ),
            "{line}"
        );
    }
}
