//! The signing limit of this machine, for the load benchmark (`bench/load.sh`): raw aws-lc-rs
//! RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second over 700 bytes, on every core at once,
//! for a few seconds. Prints one JSON object.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature;

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let key = std::sync::Arc::new(KeyPair::generate(KeySize::Rsa2048).unwrap());
    let started = std::time::Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let key = key.clone();
            std::thread::spawn(move || {
                let rng = SystemRandom::new();
                let message = [7u8; 700];
                let mut out = vec![0; key.public_modulus_len()];
                let mut count = 0u64;
                while started.elapsed().as_secs_f64() < seconds {
                    key.sign(&signature::RSA_PKCS1_SHA256, &rng, &message, &mut out).unwrap();
                    count += 1;
                }
                count
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let elapsed = started.elapsed().as_secs_f64();
    println!("{{\"threads\": {threads}, \"signatures\": {total}, \"per_second\": {:.0}}}", total as f64 / elapsed);
}
