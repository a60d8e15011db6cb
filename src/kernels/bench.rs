//! A micro-benchmark of the q8 product at SigLIP-base shapes, for the CLI (`siglip
//! bench-kernels`) and the browser (`kernelBench()`), against candle's f32 product and ours
//! (`f32-linear`, what f32 weights read in place from the file run on).

use candle_core::{Device, Tensor};

use super::{q8_matmul_with, selected, ActPrecision};
use crate::error::Result;
use crate::quant::{QuantKind, QuantMatrix};

/// `(m, k, n)`: one image's q/k/v/out projection, MLP up, MLP down; and 8 text rows.
pub const SHAPES: [(usize, usize, usize); 4] = [(197, 768, 768), (197, 768, 3072), (197, 3072, 768), (8, 768, 768)];

/// One measured shape and kernel.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KernelTiming {
    pub kernel: &'static str,
    /// Activations: `int7`, `int16`, or `f32` for candle's product.
    pub precision: &'static str,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub ms_per_call: f64,
    /// Multiply-accumulates per second, in billions.
    pub gmacs: f64,
}

/// Deterministic values in `[-0.5, 0.5)` (a 32-bit LCG), for benchmarks and unit tests.
pub(crate) fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect()
}

/// Times each shape for at least `min_ms` with the q8 kernel [`selected`] for each precision,
/// our f32 product and candle's.
/// `now_ms` is the clock (`Instant` natively, `performance.now()` in a browser).
pub fn run(now_ms: &dyn Fn() -> f64, min_ms: f64) -> Result<Vec<KernelTiming>> {
    let mut out = Vec::new();
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        let x = pseudo_random(m * k, i as u32 * 2 + 1);
        let wv = pseudo_random(n * k, i as u32 * 2 + 2);
        let w = QuantMatrix::quantize(QuantKind::Q8, &wv, n, k);
        let time = |f: &mut dyn FnMut() -> Result<()>| -> Result<f64> {
            // Warm-up, long enough for a wasm engine to have tiered up to its optimizing compiler.
            let t0 = now_ms();
            while now_ms() - t0 < min_ms / 2.0 {
                f()?;
            }
            let (t0, mut calls) = (now_ms(), 0u32);
            while calls == 0 || now_ms() - t0 < min_ms {
                f()?;
                calls += 1;
            }
            Ok((now_ms() - t0) / calls as f64)
        };
        let macs = (m * k * n) as f64;
        for p in [ActPrecision::Int7, ActPrecision::Int16] {
            let kernel = selected(p);
            let ms = time(&mut || q8_matmul_with(kernel, &x, m, &w, None, p).map(drop))?;
            out.push(KernelTiming {
                kernel: kernel.name(),
                precision: p.name(),
                m,
                k,
                n,
                ms_per_call: ms,
                gmacs: macs / ms / 1e6,
            });
        }
        let ms = time(&mut || {
            super::f32::linear(&x, m, &wv, n, k, None)
                .map(drop)
                .ok_or_else(|| crate::Error::Input("f32 linear: shapes disagree".into()))
        })?;
        out.push(KernelTiming {
            kernel: "f32-linear",
            precision: "f32",
            m,
            k,
            n,
            ms_per_call: ms,
            gmacs: macs / ms / 1e6,
        });
        let xt = Tensor::from_vec(x.clone(), (m, k), &Device::Cpu)?;
        let wt = Tensor::from_vec(wv, (n, k), &Device::Cpu)?.t()?;
        let ms = time(&mut || xt.matmul(&wt).map(drop).map_err(Into::into))?;
        out.push(KernelTiming { kernel: "candle", precision: "f32", m, k, n, ms_per_call: ms, gmacs: macs / ms / 1e6 });
    }
    Ok(out)
}
