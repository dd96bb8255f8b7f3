//! Prometheus metrics (text format 0.0.4) at `/metrics`: sign-ins by outcome, assertions
//! issued by app, signing latency, HTTP requests by route and status, database pool use.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the signing-latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
pub struct Metrics {
    sign_ins: Mutex<BTreeMap<String, u64>>,
    assertions: Mutex<BTreeMap<String, u64>>,
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    signing_buckets: [AtomicU64; BUCKETS.len()],
    signing_count: AtomicU64,
    signing_micros: AtomicU64,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    *map.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default() += 1;
}

/// Label values escaped as the text format wants.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    /// `outcome`: success, failure, locked, mfa_failure.
    pub fn sign_in(&self, outcome: &str) {
        bump(&self.sign_ins, outcome.to_owned());
    }

    pub fn assertion(&self, app: &str, took: Duration) {
        bump(&self.assertions, app.to_owned());
        let seconds = took.as_secs_f64();
        for (bucket, bound) in self.signing_buckets.iter().zip(BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.signing_count.fetch_add(1, Ordering::Relaxed);
        self.signing_micros.fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub fn request(&self, method: &str, route: &str, status: u16) {
        bump(&self.requests, (method.to_owned(), route.to_owned(), status));
    }

    /// The text exposition; `pool` is (open, idle) connections when there is a database.
    pub fn render(&self, pool: Option<(u32, usize)>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP idfed_sign_ins_total Sign-in attempts by outcome.\n# TYPE idfed_sign_ins_total counter"
        );
        for (outcome, n) in self.sign_ins.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "idfed_sign_ins_total{{outcome=\"{}\"}} {n}", label(outcome));
        }
        let _ = writeln!(
            out,
            "# HELP idfed_assertions_issued_total Signed SAML responses issued, by app.\n# TYPE idfed_assertions_issued_total counter"
        );
        for (app, n) in self.assertions.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "idfed_assertions_issued_total{{app=\"{}\"}} {n}", label(app));
        }
        let _ = writeln!(
            out,
            "# HELP idfed_signing_seconds Time to build and sign a response.\n# TYPE idfed_signing_seconds histogram"
        );
        for (bucket, bound) in self.signing_buckets.iter().zip(BUCKETS) {
            let _ = writeln!(out, "idfed_signing_seconds_bucket{{le=\"{bound}\"}} {}", bucket.load(Ordering::Relaxed));
        }
        let count = self.signing_count.load(Ordering::Relaxed);
        let sum = self.signing_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "idfed_signing_seconds_bucket{{le=\"+Inf\"}} {count}\nidfed_signing_seconds_sum {sum}\nidfed_signing_seconds_count {count}"
        );
        let _ = writeln!(
            out,
            "# HELP idfed_http_requests_total HTTP requests by method, route and status.\n# TYPE idfed_http_requests_total counter"
        );
        for ((method, route, status), n) in self.requests.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "idfed_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                label(method),
                label(route)
            );
        }
        if let Some((open, idle)) = pool {
            let _ = writeln!(
                out,
                "# HELP idfed_db_connections Database connections in the pool by state.\n# TYPE idfed_db_connections gauge"
            );
            let _ = writeln!(
                out,
                "idfed_db_connections{{state=\"open\"}} {open}\nidfed_db_connections{{state=\"idle\"}} {idle}"
            );
        }
        out
    }
}
