//! Element-wise functions the encoders spend time in, written as branch-free loops that the
//! compiler vectorizes (wasm simd128, SSE/AVX natively): candle's own `gelu` and softmax call
//! scalar `tanhf` / `expf` per element, which cost ~15% of an image in wasm.
//!
//! Accuracy: `tanh` is Eigen's rational approximation (`ptanh_float`, a few ulp); `exp` is
//! Cephes' `expf` polynomial after a split of `x` into `n ln2 + r` (about 1 ulp). Both are
//! checked against `f64` in the tests below.

/// `tanh(x)` for f32 (Eigen's `ptanh_float` rational approximation, clamped at ±7.9053).
#[inline(always)]
fn tanh(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const A: [f32; 7] =
        [-2.760_768_5e-16, 2.000_188e-13, -8.604_672e-11, 5.122_297e-8, 1.485_722_4e-5, 6.372_619_3e-4, 4.893_524_6e-3];
    const B: [f32; 4] = [1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_6e-3, 4.893_525e-3];
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let mut p = A[0];
    for a in &A[1..] {
        p = p * x2 + a;
    }
    let mut q = B[0];
    for b in &B[1..] {
        q = q * x2 + b;
    }
    x * p / q
}

/// `exp(x)` for f32 (Cephes `expf`); exactly 0 below `ln(2^-126)`, and `inf`-free.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const P: [f32; 6] = [1.987_569_1e-4, 1.398_2e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5];
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: rounds to an integer by addition
    let under = x < -87.33;
    let xc = x.clamp(-87.33, 88.72);
    let n = (xc * LOG2E + MAGIC) - MAGIC;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = P[0];
    for c in &P[1..] {
        p = p * r + c;
    }
    let y = p * r * r + r + 1.0;
    let scale = f32::from_bits(((n as i32 + 127) << 23) as u32);
    if under {
        0.0
    } else {
        y * scale
    }
}

/// The tanh approximation of GELU, as `gelu_pytorch_tanh`:
/// `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
pub fn gelu_tanh(xs: &mut [f32]) {
    const BETA: f32 = 0.797_884_6; // sqrt(2 / pi)
    const KAPPA: f32 = 0.044_715;
    for x in xs.iter_mut() {
        let v = *x;
        *x = 0.5 * v * (1.0 + tanh(BETA * (v + KAPPA * v * v * v)));
    }
}

/// Softmax over each row of `len` values (max subtracted first; `-inf` entries become 0).
/// The max and the sum are taken over [`LANES`] interleaved partial results, so that every
/// loop here vectorizes (a single running float sum would keep `exp` scalar).
pub fn softmax_rows(xs: &mut [f32], len: usize) {
    if len == 0 {
        return;
    }
    for row in xs.chunks_exact_mut(len) {
        let max = lanes_fold(row, f32::NEG_INFINITY, f32::max);
        row.iter_mut().for_each(|v| *v = exp(*v - max));
        let inv = 1.0 / lanes_fold(row, 0.0, |a, b| a + b);
        row.iter_mut().for_each(|v| *v *= inv);
    }
}

/// Partial results per reduction, one per SIMD lane of two vectors.
const LANES: usize = 8;

/// Folds `xs` with `f` into [`LANES`] partial results (lane `i` takes every `LANES`-th value
/// from `i`), then folds those in order.
#[inline(always)]
fn lanes_fold(xs: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a = f(*a, *v);
        }
    }
    for (a, v) in acc.iter_mut().zip(chunks.remainder()) {
        *a = f(*a, *v);
    }
    acc.into_iter().fold(init, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> impl Iterator<Item = f32> {
        (-20_000..=20_000).map(|i| i as f32 / 1000.0)
    }

    #[test]
    fn tanh_is_within_a_few_ulp() {
        for x in grid() {
            let want = (x as f64).tanh();
            let err = (tanh(x) as f64 - want).abs();
            assert!(err <= 4.0 * f32::EPSILON as f64 * want.abs().max(1e-3), "tanh({x}): {} vs {want}", tanh(x));
        }
    }

    #[test]
    fn exp_is_within_two_ulp() {
        for x in grid().map(|x| x * 4.0).filter(|x| *x > -87.0 && *x < 88.0) {
            let want = (x as f64).exp();
            let err = (exp(x) as f64 - want).abs() / want;
            assert!(err <= 2.0 * f32::EPSILON as f64, "exp({x}): {} vs {want}", exp(x));
        }
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn gelu_matches_the_formula_in_f64() {
        let xs: Vec<f32> = grid().collect();
        let mut ys = xs.clone();
        gelu_tanh(&mut ys);
        for (x, y) in xs.iter().zip(&ys) {
            let x = *x as f64;
            let want = 0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh());
            assert!((*y as f64 - want).abs() <= 1e-6 * want.abs().max(1.0), "gelu({x}) = {y}, want {want}");
        }
    }

    #[test]
    fn softmax_rows_sum_to_one_and_mask() {
        let mut xs = vec![1.0, 2.0, 3.0, f32::NEG_INFINITY, -1000.0, 0.0, 0.0, 0.0];
        softmax_rows(&mut xs, 4);
        let e = [1f64.exp(), 2f64.exp(), 3f64.exp()];
        let s: f64 = e.iter().sum();
        for i in 0..3 {
            assert!((xs[i] as f64 - e[i] / s).abs() < 1e-7);
        }
        assert_eq!(xs[3], 0.0);
        assert_eq!(&xs[4..], &[0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]);
    }
}
