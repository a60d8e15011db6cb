//! An opt-in profile of where a forward pass spends its time, by kind of operation (for
//! `siglip bench --profile` and the browser benchmark). Off by default: then a scope costs
//! one relaxed atomic load. The caller gives the clock ([`start`]): `Instant` natively,
//! `performance.now()` in a browser (see `wasm.rs`), so this module knows no platform.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Milliseconds from a monotonic clock.
pub type Clock = fn() -> f64;

static ENABLED: AtomicBool = AtomicBool::new(false);
static STATE: Mutex<Profile> = Mutex::new(Profile { clock: None, totals: BTreeMap::new() });

struct Profile {
    clock: Option<Clock>,
    totals: BTreeMap<&'static str, (f64, u64)>,
}

/// Starts collecting (clearing earlier figures), timing with `clock`.
pub fn start(clock: Clock) {
    if let Ok(mut p) = STATE.lock() {
        p.totals.clear();
        p.clock = Some(clock);
        ENABLED.store(true, Ordering::Relaxed);
    }
}

/// Stops collecting (and clears what was collected).
pub fn stop() {
    ENABLED.store(false, Ordering::Relaxed);
    if let Ok(mut p) = STATE.lock() {
        p.totals.clear();
    }
}

/// Collected `(operation, total ms, calls)`, largest first; clears them.
pub fn take() -> Vec<(&'static str, f64, u64)> {
    let mut rows: Vec<_> = match STATE.lock() {
        Ok(mut p) => std::mem::take(&mut p.totals).into_iter().map(|(k, (ms, n))| (k, ms, n)).collect(),
        Err(_) => Vec::new(),
    };
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    rows
}

/// Times `f` under `name` when profiling is on.
pub fn scope<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
    let clock = match ENABLED.load(Ordering::Relaxed) {
        true => STATE.lock().ok().and_then(|p| p.clock),
        false => None,
    };
    let Some(now) = clock else { return f() };
    let t0 = now();
    let out = f();
    let ms = now() - t0;
    if let Ok(mut p) = STATE.lock() {
        let e = p.totals.entry(name).or_insert((0.0, 0));
        e.0 += ms;
        e.1 += 1;
    }
    out
}
