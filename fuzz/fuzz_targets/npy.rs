//! The .npy reader on arbitrary bytes: an error or a finite matrix of the stated shape, never
//! a panic.
#![no_main]

use aeclust::npy::parse_matrix;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok((values, rows, cols)) = parse_matrix(bytes, "fuzz") {
        assert_eq!(values.len(), rows * cols);
        assert!(values.iter().all(|v| v.is_finite()));
    }
});
