//! The sign and verify ratios measured pairwise: every round times a batch of each operation
//! back to back (raw RSA and idfed), and the ratio is taken within the round. On a shared
//! machine whose speed drifts between criterion's separate measurements, the drift cancels
//! within a round; the report gives the median round and the 10th–90th percentile.
//!
//! `IDFED_PAIRED_ROUNDS` (default 400) sets the rounds; `IDFED_PAIRED_JSON=FILE` writes the
//! figures as JSON for `bench/report.py`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use idfed_saml::issue::{SignWhat, issue_response};
use idfed_saml::sp::validate_response;

const WARM_UP_ROUNDS: usize = 20;

struct Operation<'a> {
    name: &'static str,
    batch: u32,
    run: Box<dyn Fn() + 'a>,
}

/// (name, numerator, denominator): each ratio is numerator / denominator within one round.
const RATIOS: [(&str, &str, &str); 3] = [
    ("sign", "idfed_issue_signed_response", "raw_sign"),
    ("validate_vs_raw_verify", "idfed_validate_response", "raw_verify"),
    ("validate_vs_raw_verify_parsed_key", "idfed_validate_response", "raw_verify_parsed_key"),
];

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rounds: usize = std::env::var("IDFED_PAIRED_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(400);
    let f = common::Fixture::new();
    let signer = f.signer();
    let operations = [
        Operation { name: "raw_sign", batch: 8, run: Box::new(|| drop(black_box(f.raw_sign()))) },
        Operation {
            name: "idfed_issue_signed_response",
            batch: 8,
            run: Box::new(|| {
                black_box(issue_response(black_box(&f.spec), &signer, SignWhat::Assertion, None, &f.rng).unwrap());
            }),
        },
        Operation {
            name: "raw_verify",
            batch: 64,
            run: Box::new(|| f.public.verify(black_box(&f.message), black_box(&f.signature)).unwrap()),
        },
        Operation {
            name: "raw_verify_parsed_key",
            batch: 64,
            run: Box::new(|| f.parsed.verify_sig(black_box(&f.message), black_box(&f.signature)).unwrap()),
        },
        Operation {
            name: "idfed_validate_response",
            batch: 64,
            run: Box::new(|| drop(black_box(validate_response(black_box(&f.signed), &f.config, f.now).unwrap()))),
        },
    ];

    // times[round][op]: mean seconds per operation in that round's batch.
    let mut times: Vec<Vec<f64>> = Vec::with_capacity(rounds);
    for round in 0..WARM_UP_ROUNDS + rounds {
        let mut row = vec![0.0; operations.len()];
        // Rotate the order so no operation always runs first or after the same neighbour.
        for step in 0..operations.len() {
            let index = (round + step) % operations.len();
            let op = &operations[index];
            let start = Instant::now();
            for _ in 0..op.batch {
                (op.run)();
            }
            row[index] = start.elapsed().as_secs_f64() / f64::from(op.batch);
        }
        if round >= WARM_UP_ROUNDS {
            times.push(row);
        }
    }

    let column = |name: &str| operations.iter().position(|o| o.name == name).unwrap();
    let mut json = format!("{{\n  \"rounds\": {rounds},\n  \"ratios\": {{");
    for (i, (ratio, numerator, denominator)) in RATIOS.iter().enumerate() {
        let (n, d) = (column(numerator), column(denominator));
        let (median, p10, p90) = percentiles(times.iter().map(|row| row[n] / row[d]).collect());
        eprintln!("{ratio:>34}: {median:.3}x (p10 {p10:.3}, p90 {p90:.3}) over {rounds} rounds");
        let comma = if i + 1 < RATIOS.len() { "," } else { "" };
        json += &format!(
            "\n    \"{ratio}\": {{\"numerator\": \"{numerator}\", \"denominator\": \"{denominator}\", \"median\": {median:.4}, \"p10\": {p10:.4}, \"p90\": {p90:.4}}}{comma}"
        );
    }
    json += "\n  },\n  \"median_us\": {";
    for (i, op) in operations.iter().enumerate() {
        let (median, _, _) = percentiles(times.iter().map(|row| row[i] * 1e6).collect());
        eprintln!("{:>34}: {median:.1} µs (median round)", op.name);
        let comma = if i + 1 < operations.len() { "," } else { "" };
        json += &format!("\n    \"{}\": {median:.2}{comma}", op.name);
    }
    json += "\n  }\n}\n";
    if let Ok(path) = std::env::var("IDFED_PAIRED_JSON") {
        std::fs::write(&path, json).unwrap();
        eprintln!("written to {path}");
    }
}

/// Median, 10th and 90th percentile (nearest rank).
fn percentiles(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.1), at(0.9))
}
