//! The q8 matrix kernels natively (AVX2 where the CPU has it, and the portable kernel): bit
//! for bit the plain reference, which is within the rounding bound of the f32 product. The
//! same cases run in the browser for each wasm build (tests/wasm.rs).

#![cfg(not(target_arch = "wasm32"))]

#[path = "common/kernel_cases.rs"]
mod kernel_cases;

#[test]
fn kernels_match_reference() {
    println!("{}", kernel_cases::describe_kernels());
    kernel_cases::kernels_match_reference();
}

#[test]
fn reference_is_within_the_rounding_bound() {
    kernel_cases::reference_is_within_the_rounding_bound();
}

#[test]
fn bad_sizes_are_errors() {
    kernel_cases::bad_sizes_are_errors();
}
