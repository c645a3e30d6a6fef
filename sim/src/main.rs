//! tokworks-sim command line (being written).
fn main() {}
