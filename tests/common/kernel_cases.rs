//! Cases for the q8 matrix kernels, shared by the native tests (tests/kernels.rs) and the
//! browser tests (tests/wasm.rs), so every build variant runs the same checks.

use siglip::kernels::{self, ActPrecision};
use siglip::quant::{QuantKind, QuantMatrix};

/// Ragged `(m, k, n)` shapes: partial tiles, partial panels, partial blocks, k not a multiple
/// of 4, so400m's 4304, long rows of whole and of ragged blocks, a 197-row image batch.
pub const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (3, 31, 5),
    (4, 32, 8),
    (5, 33, 9),
    (7, 100, 17),
    (13, 768, 24),
    (2, 4304, 3),
    (3, 2048, 10),
    (6, 1057, 9),
    (197, 96, 40),
    (9, 64, 0),
];

/// Deterministic values in [-1, 1) (a 64-bit LCG), with some exact zeros and a zero block.
pub fn values(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|i| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
            if i % 11 == 0 || (64..96).contains(&i) {
                0.0
            } else {
                v
            }
        })
        .collect()
}

pub const PRECISIONS: [ActPrecision; 2] = [ActPrecision::Int7, ActPrecision::Int16];

pub struct Case {
    pub x: Vec<f32>,
    pub m: usize,
    pub w: QuantMatrix,
    pub bias: Vec<f32>,
}

pub fn case(i: usize, (m, k, n): (usize, usize, usize)) -> Case {
    let x = values(i as u64 * 3 + 1, m * k).iter().map(|v| v * 4.0).collect();
    let w = QuantMatrix::quantize(QuantKind::Q8, &values(i as u64 * 3 + 2, n * k), n, k);
    Case { x, m, w, bias: values(i as u64 * 3 + 3, n) }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Every kernel this build and CPU can run (the one `q8_matmul` picks, the others, the
/// portable one) equals the plain reference bit for bit, for each precision it takes.
pub fn kernels_match_reference() {
    let kernels = kernels::runnable();
    assert!(kernels.contains(&kernels::KernelId::Portable));
    for (i, &shape) in SHAPES.iter().enumerate() {
        let c = case(i, shape);
        for p in PRECISIONS {
            for bias in [None, Some(c.bias.as_slice())] {
                let want = bits(&kernels::reference::matmul(&c.x, c.m, &c.w, bias, p));
                let got = kernels::q8_matmul(&c.x, c.m, &c.w, bias, p).unwrap();
                assert_eq!(bits(&got), want, "{} kernel, {p:?}, shape {shape:?}", kernels::selected(p));
                for &k in kernels.iter().filter(|k| k.accepts(p)) {
                    let got = kernels::q8_matmul_with(k, &c.x, c.m, &c.w, bias, p).unwrap();
                    assert_eq!(bits(&got), want, "{k} kernel, {p:?}, shape {shape:?}");
                }
            }
        }
    }
}

/// The kernels this build and CPU run, fastest first, and the one each precision gets.
pub fn describe_kernels() -> String {
    let names: Vec<_> = kernels::runnable().iter().map(|k| k.name()).collect();
    let chosen: Vec<_> = PRECISIONS.iter().map(|p| format!("{p:?}: {}", kernels::selected(*p))).collect();
    format!("runnable: {}; {}", names.join(", "), chosen.join(", "))
}

/// The reference is the f32 product with the stored weights, up to activation rounding:
/// each activation moves by at most half a step (`max|x| / A / 2` over its block, `A` = 63 or
/// 32767), so each output moves by at most `Σ |w| * step / 2` (plus f32 rounding).
pub fn reference_is_within_the_rounding_bound() {
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        for (p, act_max) in [(ActPrecision::Int7, 63.0), (ActPrecision::Int16, 32767.0)] {
            reference_within_bound(i, (m, k, n), p, act_max);
        }
    }
}

fn reference_within_bound(i: usize, (m, k, n): (usize, usize, usize), p: ActPrecision, act_max: f32) {
    {
        let c = case(i, (m, k, n));
        let w = c.w.dequantize();
        let got = kernels::reference::matmul(&c.x, m, &c.w, Some(&c.bias), p);
        for r in 0..m {
            let x = &c.x[r * k..(r + 1) * k];
            let half_steps: Vec<f32> = x
                .chunks(32)
                .flat_map(|b| {
                    let amax = b.iter().fold(0f32, |a, v| a.max(v.abs()));
                    std::iter::repeat_n(amax / act_max / 2.0, b.len())
                })
                .collect();
            for col in 0..n {
                let wr = &w[col * k..(col + 1) * k];
                let exact: f64 = x.iter().zip(wr).map(|(a, b)| *a as f64 * *b as f64).sum::<f64>() + c.bias[col] as f64;
                let bound: f64 = wr.iter().zip(&half_steps).map(|(w, h)| (w.abs() * h) as f64).sum::<f64>();
                let err = (got[r * n + col] as f64 - exact).abs();
                assert!(err <= bound * 1.001 + 1e-5, "{p:?} {:?} [{r}, {col}]: error {err} > bound {bound}", (m, k, n));
            }
        }
    }
}

/// Wrong sizes are errors, not panics.
pub fn bad_sizes_are_errors() {
    let c = case(0, (2, 40, 3));
    let p = ActPrecision::Int7;
    assert!(kernels::q8_matmul(&c.x[1..], 2, &c.w, None, p).is_err());
    assert!(kernels::q8_matmul(&c.x, 2, &c.w, Some(&c.bias[1..]), p).is_err());
    let f16 = QuantMatrix::quantize(QuantKind::F16, &values(9, 120), 3, 40);
    assert!(kernels::q8_matmul(&c.x, 2, &f16, None, p).is_err());
    // A kernel for 7-bit activations refuses 16-bit ones.
    for &k in kernels::runnable().iter().filter(|k| !k.accepts(ActPrecision::Int16)) {
        let err = kernels::q8_matmul_with(k, &c.x, 2, &c.w, None, ActPrecision::Int16).unwrap_err();
        assert!(err.to_string().contains("7-bit"), "{err}");
    }
    // The right sizes then give the reference product.
    let want = kernels::reference::matmul(&c.x, 2, &c.w, Some(&c.bias), p);
    assert_eq!(bits(&kernels::q8_matmul(&c.x, 2, &c.w, Some(&c.bias), p).unwrap()), bits(&want));
}
