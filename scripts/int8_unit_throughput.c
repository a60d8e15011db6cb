// How many int8 multiply-accumulates per cycle the x86 instructions behind wasm's int8 kernels
// can issue on this CPU, measured with register-only loops (no loads, independent chains).
// Evidence for the issue 7 closing note: on x86 without VNNI, V8 lowers the relaxed-SIMD dot
// products to pmaddubsw + pmaddwd (2 multiply uops per 16 products), the same multiply cost
// per product as onnxruntime-web's pmaddwd on widened operands, so the two kernels share one
// ceiling. Not part of any build or test.
//
//   gcc -O2 -o /tmp/int8_unit_throughput scripts/int8_unit_throughput.c && /tmp/int8_unit_throughput
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define X8(s) s s s s s s s s
#define N 50000000L

// Seconds per iteration of `body` (run N times).
#define TIME(body)                                                                 \
  ({                                                                               \
    double t0 = now();                                                             \
    for (long n = 0; n < N; n++) __asm__ volatile(body ::: "rax", "xmm0", "xmm1", "xmm2", \
                                                   "xmm3", "xmm4", "xmm5", "xmm6", "xmm7"); \
    (now() - t0) / N;                                                              \
  })

int main(void) {
  // A chain of dependent 1-cycle adds: seconds per cycle, whatever the clock is.
  double cycle = TIME(X8("add $1, %%rax\n\t") X8("add $1, %%rax\n\t")) / 16;
  printf("clock: %.2f GHz (dependent adds)\n", 1e-9 / cycle);
  // 64 independent multiplies on 8 accumulators.
  double madd = TIME(X8("vpmaddwd %%xmm9, %%xmm0, %%xmm0\n\t vpmaddwd %%xmm9, %%xmm1, %%xmm1\n\t"
                        "vpmaddwd %%xmm9, %%xmm2, %%xmm2\n\t vpmaddwd %%xmm9, %%xmm3, %%xmm3\n\t"
                        "vpmaddwd %%xmm9, %%xmm4, %%xmm4\n\t vpmaddwd %%xmm9, %%xmm5, %%xmm5\n\t"
                        "vpmaddwd %%xmm9, %%xmm6, %%xmm6\n\t vpmaddwd %%xmm9, %%xmm7, %%xmm7\n\t")) / 64 / cycle;
  printf("vpmaddwd (8 products, i16): %.2f per cycle -> %.1f products/cycle\n", 1 / madd, 8 / madd);
  // What relaxed SIMD becomes without VNNI: pmaddubsw, pmaddwd with ones, paddd (16 products).
  double step2 = TIME(X8("vpmaddubsw %%xmm9, %%xmm10, %%xmm0\n\t vpmaddwd %%xmm11, %%xmm0, %%xmm0\n\t vpaddd %%xmm0, %%xmm1, %%xmm1\n\t"
                         "vpmaddubsw %%xmm9, %%xmm12, %%xmm2\n\t vpmaddwd %%xmm11, %%xmm2, %%xmm2\n\t vpaddd %%xmm2, %%xmm3, %%xmm3\n\t"
                         "vpmaddubsw %%xmm9, %%xmm13, %%xmm4\n\t vpmaddwd %%xmm11, %%xmm4, %%xmm4\n\t vpaddd %%xmm4, %%xmm5, %%xmm5\n\t"
                         "vpmaddubsw %%xmm9, %%xmm14, %%xmm6\n\t vpmaddwd %%xmm11, %%xmm6, %%xmm6\n\t vpaddd %%xmm6, %%xmm7, %%xmm7\n\t")) / 32 / cycle;
  printf("relaxed two-step (16 products): %.2f cycles -> %.1f products/cycle\n", step2, 16 / step2);
  // onnxruntime-web's form on widened i16 operands: pmaddwd + paddd (8 products).
  double ort = TIME(X8("vpmaddwd %%xmm9, %%xmm10, %%xmm0\n\t vpaddd %%xmm0, %%xmm1, %%xmm1\n\t"
                       "vpmaddwd %%xmm9, %%xmm12, %%xmm2\n\t vpaddd %%xmm2, %%xmm3, %%xmm3\n\t"
                       "vpmaddwd %%xmm9, %%xmm13, %%xmm4\n\t vpaddd %%xmm4, %%xmm5, %%xmm5\n\t"
                       "vpmaddwd %%xmm9, %%xmm14, %%xmm6\n\t vpaddd %%xmm6, %%xmm7, %%xmm7\n\t")) / 32 / cycle;
  printf("pmaddwd + paddd (8 products): %.2f cycles -> %.1f products/cycle\n", ort, 8 / ort);
  // 6-bit activations would allow two pmaddubsw results to be summed in i16 before widening.
  double pair = TIME(X8("vpmaddubsw %%xmm9, %%xmm10, %%xmm0\n\t vpmaddubsw %%xmm8, %%xmm12, %%xmm2\n\t vpaddw %%xmm0, %%xmm2, %%xmm0\n\t"
                        "vpmaddwd %%xmm11, %%xmm0, %%xmm0\n\t vpaddd %%xmm0, %%xmm1, %%xmm1\n\t"
                        "vpmaddubsw %%xmm9, %%xmm13, %%xmm4\n\t vpmaddubsw %%xmm8, %%xmm14, %%xmm6\n\t vpaddw %%xmm4, %%xmm6, %%xmm4\n\t"
                        "vpmaddwd %%xmm11, %%xmm4, %%xmm4\n\t vpaddd %%xmm4, %%xmm5, %%xmm5\n\t")) / 16 / cycle;
  printf("pairs summed in i16 (32 products): %.2f cycles -> %.1f products/cycle\n", pair, 32 / pair);
  return 0;
}
