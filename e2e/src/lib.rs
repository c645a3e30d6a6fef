//! End-to-end test crate: all code lives in tests/.
