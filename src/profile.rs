//! An opt-in profile of where a forward pass spends its time, by kind of operation (for
//! `siglip bench --profile` and the browser benchmark). Off by default: then a scope costs
//! one relaxed atomic load.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static ENABLED: AtomicBool = AtomicBool::new(false);
static TOTALS: Mutex<BTreeMap<&'static str, (f64, u64)>> = Mutex::new(BTreeMap::new());

/// Milliseconds from a monotonic clock (`performance.now()` in a browser).
pub fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        let global = js_sys::global();
        let perf = js_sys::Reflect::get(&global, &"performance".into()).ok();
        let now = perf.as_ref().and_then(|p| js_sys::Reflect::get(p, &"now".into()).ok());
        match (perf, now.and_then(|f| wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(f).ok())) {
            (Some(p), Some(f)) => f.call0(&p).ok().and_then(|v| v.as_f64()).unwrap_or_else(js_sys::Date::now),
            _ => js_sys::Date::now(),
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1e3
    }
}

/// Starts (and clears) or stops collecting.
pub fn enable(on: bool) {
    if let Ok(mut t) = TOTALS.lock() {
        t.clear();
    }
    ENABLED.store(on, Ordering::Relaxed);
}

/// Collected `(operation, total ms, calls)`, largest first; clears them.
pub fn take() -> Vec<(&'static str, f64, u64)> {
    let mut rows: Vec<_> = match TOTALS.lock() {
        Ok(mut t) => std::mem::take(&mut *t).into_iter().map(|(k, (ms, n))| (k, ms, n)).collect(),
        Err(_) => Vec::new(),
    };
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    rows
}

/// Times `f` under `name` when profiling is on.
pub fn scope<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
    if !ENABLED.load(Ordering::Relaxed) {
        return f();
    }
    let t0 = now_ms();
    let out = f();
    let ms = now_ms() - t0;
    if let Ok(mut t) = TOTALS.lock() {
        let e = t.entry(name).or_insert((0.0, 0));
        e.0 += ms;
        e.1 += 1;
    }
    out
}
