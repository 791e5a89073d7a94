//! `STOWAGE_TRACE_BUILD=1`: per-phase wall and CPU seconds of vector index
//! builds (sampling, k-means, PQ training, encoding, writing) on stderr, to
//! see where a build spends its time without a profiler. Off by default;
//! costs one environment lookup per process when off.

use std::sync::OnceLock;
use std::time::Instant;

pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var("STOWAGE_TRACE_BUILD").is_ok_and(|v| !v.is_empty() && v != "0")
    })
}

/// Prints one line when tracing is on.
pub fn note(msg: impl FnOnce() -> String) {
    if enabled() {
        eprintln!("[stowage build] {}", msg());
    }
}

/// CPU seconds (user + system) of the whole process so far, from
/// `/proc/self/stat` (Linux; `None` elsewhere). Ticks are USER_HZ, 100 on
/// every Linux architecture we build for.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let (u, s): (f64, f64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    Some((u + s) / 100.0)
}

/// A phase: prints its wall and CPU time when dropped (when tracing is on).
pub struct Span {
    name: &'static str,
    start: Instant,
    cpu: Option<f64>,
}

pub fn span(name: &'static str) -> Option<Span> {
    enabled().then(|| Span {
        name,
        start: Instant::now(),
        cpu: cpu_seconds(),
    })
}

impl Drop for Span {
    fn drop(&mut self) {
        let wall = self.start.elapsed().as_secs_f64();
        let cpu = match (self.cpu, cpu_seconds()) {
            (Some(a), Some(b)) => format!(", {:.2} s cpu", b - a),
            _ => String::new(),
        };
        eprintln!("[stowage build] {}: {wall:.2} s wall{cpu}", self.name);
    }
}
