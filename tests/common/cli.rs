//! Running the real binary, and what its output must look like.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary. The tests are there to exercise the GPU path, so its default backend is
/// the GPU adapter (software or not) unless a test asks otherwise with --backend.
pub fn aeclust(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aeclust"))
        .args(args)
        .env_remove("XDG_RUNTIME_DIR")
        .env("AECLUST_BACKEND", "gpu")
        .output()
        .expect("the binary runs")
}

pub fn read_json(path: impl AsRef<Path>) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A path as a command-line argument.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// The names of the entries of `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The command failed with a one-line error and no panic.
pub fn assert_clean_failure(out: &Output, needle: &str) {
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success(),
        "expected a failure, stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("error:"), "{stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
}
