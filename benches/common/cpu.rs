//! CPU time for benches: the machines are shared and noisy, so rates are measured per CPU-second
//! of the measuring thread rather than per wall second.

#![allow(dead_code)]

use std::time::Instant;

/// CPU time of the calling thread in nanoseconds (first field of its schedstat).
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Runs `f` `n` times and answers calls per CPU-second of this thread.
pub fn per_cpu_second(n: u64, mut f: impl FnMut()) -> f64 {
    let cpu = thread_cpu_ns();
    let wall = Instant::now();
    for _ in 0..n {
        f();
    }
    let used = thread_cpu_ns().saturating_sub(cpu);
    // Without schedstat (some kernels), fall back to wall time: this loop never sleeps.
    let secs = if used > 0 {
        used as f64 / 1e9
    } else {
        wall.elapsed().as_secs_f64()
    };
    n as f64 / secs
}
