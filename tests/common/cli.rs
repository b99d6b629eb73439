//! Running the real binary, and what its output must look like.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use safetensors::tensor::TensorView;
use safetensors::SafeTensors;

/// Runs the binary. The tests are there to exercise the GPU path, so its default backend is
/// the GPU adapter (software or not) unless a test asks otherwise with --backend.
pub fn aeclust(args: &[&str]) -> Output {
    aeclust_with(args, &[])
}

/// `aeclust` with these environment variables set besides.
pub fn aeclust_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aeclust"))
        .args(args)
        .env_remove("XDG_RUNTIME_DIR")
        .env("AECLUST_BACKEND", "gpu")
        .envs(env.iter().copied())
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

/// The bundled MNIST.
pub fn mnist() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")
}

/// A small 4x4-pixel dataset (IDX, 64 training and 32 test images) in `dir/data` and a
/// 16,6,3,6,16 model trained on it for one epoch in `dir/m.safetensors`.
pub fn tiny_model(dir: &Path) -> (PathBuf, PathBuf) {
    tiny_model_of(dir, 64, 32)
}

/// `tiny_model` with `train` training and `test` test images.
pub fn tiny_model_of(dir: &Path, train: usize, test: usize) -> (PathBuf, PathBuf) {
    let data = dir.join("data");
    super::write_idx_dataset(&data, train, test, 4, false);
    let model = dir.join("m.safetensors");
    let out = aeclust(&[
        "train",
        "--data",
        s(&data),
        "--layers",
        "16,6,3,6,16",
        "--epochs",
        "1",
        "--model-out",
        s(&model),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (data, model)
}

/// An IDX dataset of 8 training and 8 test images of 4x4 pixels written into `dir`.
pub fn tiny_dataset(dir: &Path) -> String {
    super::write_idx_dataset(dir, 8, 8, 4, false);
    dir.to_str().unwrap().to_string()
}

/// `train` on a fresh 4x4-pixel dataset with a model that fits it, plus `extra` flags.
pub fn train_tiny(extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny_dataset(dir.path());
    let mut args = vec!["train", "--data", &data, "--layers", "16,4,16"];
    args.extend_from_slice(extra);
    aeclust(&args)
}

/// A model file's tensors: name, shape and f32 bytes.
pub type Tensors = Vec<(String, Vec<usize>, Vec<u8>)>;

/// `model` rewritten into `out` with `edit` applied to its metadata and tensors.
pub fn rewrite_model(
    model: &Path,
    out: &Path,
    edit: impl FnOnce(&mut HashMap<String, String>, &mut Tensors),
) {
    let bytes = std::fs::read(model).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = meta.metadata().clone().unwrap_or_default();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let mut owned: Tensors = tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.shape().to_vec(), view.data().to_vec()))
        .collect();
    edit(&mut meta, &mut owned);
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(name, shape, data)| {
            let view = TensorView::new(safetensors::Dtype::F32, shape.clone(), data).unwrap();
            (name.clone(), view)
        })
        .collect();
    std::fs::write(out, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
}
