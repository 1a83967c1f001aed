//! Rule-set swaps with one map element per system call: the path the
//! crate falls back to on kernels without BPF batch commands (before Linux
//! 5.6). A test binary of its own, since the switch is process-wide.

mod common;

#[test]
fn large_rule_sets_swap_and_clear_without_batch_calls() {
    wafio_xdp::use_batch_calls(false);
    common::swap_and_clear_large_sets("large_rule_sets_swap_and_clear_without_batch_calls");
}
