//! Authentication costs (QUALITY.md P8).
//!
//! 1. API-key checks: `api_keys::authenticate` (hash the presented key, one index lookup, the
//!    key record, the owner) against a store holding 1,000 keys, in verifications per
//!    CPU-second of the measuring thread, printed with the same run's baseline: SHA-256 of the
//!    key alone, the least any check must do. Target: >= 50,000 checks per CPU-second.
//! 2. Sign-in under a flood: 50 concurrent wrong passwords against the bounded argon2id
//!    hasher with its default 4 permits; prints how many are refused at once (the 429 path)
//!    instead of queueing behind the hashes.
// A benchmark is a measuring harness, not product code: a broken setup should stop it loudly.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::Criterion;
use lantern::iam::IamError;
use lantern::iam::api_keys::{self, Scope};
use lantern::iam::passwords::PasswordHasher;
use lantern::iam::roles::Role;
use lantern::iam::users::{self, NewUser};
use lantern::store::{Store, StoreOptions};

#[path = "common/cpu.rs"]
mod cpu;
use cpu::per_cpu_second;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("auth.redb"), StoreOptions::default()).expect("store");
    let owner = store
        .write_blocking(|tx| {
            users::create(
                tx,
                &NewUser {
                    email: "bench@example.org".into(),
                    name: "Bench".into(),
                    roles: vec![Role::CompanyAdmin],
                    password_hash: None,
                },
                0,
            )
        })
        .expect("user");
    let mut secrets = Vec::new();
    for i in 0..1000 {
        let id = owner.id.clone();
        let (_, secret) = store
            .write_blocking(move |tx| {
                api_keys::create(
                    tx,
                    &id,
                    &format!("bench key {i}"),
                    &[Scope::Role(Role::CompanyAdmin)],
                    90,
                    0,
                )
            })
            .expect("key");
        secrets.push(secret);
    }
    let check = |secret: &str| {
        let s = secret.to_string();
        let found = store
            .read_blocking(move |tx| api_keys::authenticate(tx, &s, 1_000))
            .expect("read");
        assert!(found.is_ok(), "a live key authenticates");
    };

    let mut c = Criterion::default().configure_from_args();
    let mut i = 0usize;
    c.bench_function("api_key_check", |b| {
        b.iter(|| {
            i = (i + 1) % secrets.len();
            check(black_box(&secrets[i]));
        })
    });

    let rounds = 20_000u64;
    let mut j = 0usize;
    let baseline = per_cpu_second(rounds, || {
        j = (j + 1) % secrets.len();
        black_box(ring::digest::digest(
            &ring::digest::SHA256,
            secrets[j].as_bytes(),
        ));
    });
    let checks = per_cpu_second(rounds, || {
        j = (j + 1) % secrets.len();
        check(&secrets[j]);
    });
    println!(
        "API-key checks: {checks:.0} per CPU-second (target >= 50000); SHA-256 alone: {baseline:.0} per CPU-second; ratio {:.3}",
        checks / baseline
    );

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (refused, hashed) = runtime.block_on(async {
        let hasher = PasswordHasher::new(4).expect("hasher");
        let hash = hasher
            .hash("the right password".into())
            .await
            .expect("hash");
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let h = hasher.clone();
            let phc = hash.clone();
            tasks.push(tokio::spawn(async move {
                h.verify("a wrong guess".into(), Some(phc)).await
            }));
        }
        let (mut refused, mut hashed) = (0, 0);
        for t in tasks {
            match t.await.expect("task") {
                Err(IamError::Throttled { .. }) => refused += 1,
                Ok(false) => hashed += 1,
                other => panic!("unexpected answer: {other:?}"),
            }
        }
        (refused, hashed)
    });
    println!(
        "50 concurrent wrong passwords: {refused} refused at once (429), {hashed} hashed (4 at a time, up to 8 waiting)"
    );
    c.final_summary();
}
