//! The `wafio` command.
fn main() {}
