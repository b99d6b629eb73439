//! The real binary when a run goes wrong or grows: divergence, interruption and resuming,
//! data larger than one GPU binding, and the same seed giving the same bits. (Bad input is in
//! tests/errors.rs.)

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::{aeclust, listing, mnist, read_json, s, text, tiny_model};

#[test]
fn divergence_stops_training_and_keeps_the_previous_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    std::fs::write(&model, b"the previous model").unwrap();
    for backend in ["gpu", "cpu"] {
        let out = aeclust(&[
            "train",
            "--data",
            mnist(),
            "--limit",
            "2000",
            "--epochs",
            "1",
            "--lr",
            "1e6",
            "--backend",
            backend,
            "--model-out",
            s(&model),
        ]);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{backend}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.contains("training diverged at epoch 1, step"),
            "{backend}: {stderr}"
        );
        assert_eq!(std::fs::read(&model).unwrap(), b"the previous model");
    }
    assert_eq!(listing(dir.path()), ["m.safetensors"]);
}

/// Starts `train` with a checkpoint after every epoch, waits until `epochs_done` epochs are
/// saved, then sends `signal`; returns the exit status and stderr.
fn train_and_kill(
    dir: &Path,
    signal: &str,
    epochs_done: usize,
) -> (std::process::ExitStatus, String) {
    let data = dir.join("data");
    let model = dir.join("m.safetensors");
    let _ = std::fs::remove_file(&model);
    let child = Command::new(env!("CARGO_BIN_EXE_aeclust"))
        .args([
            "train",
            "--data",
            s(&data),
            "--layers",
            "16,8,16",
            "--epochs",
            "1000",
            "--checkpoint-every",
            "1",
            "--model-out",
            s(&model),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let saved = aeclust::model_file::load(&model)
            .ok()
            .and_then(|(_, _, state)| state)
            .is_some_and(|state| state.epochs >= epochs_done);
        if saved {
            break;
        }
        assert!(Instant::now() < deadline, "no checkpoint after 120 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    (output.status, text(&output.stderr))
}

#[test]
fn a_killed_run_keeps_its_last_checkpoint_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_idx_dataset(&data, 20_000, 64, 4, false);
    let model = dir.path().join("m.safetensors");
    for signal in ["TERM", "INT", "KILL"] {
        let (status, stderr) = train_and_kill(dir.path(), signal, 2);
        assert!(!status.success(), "{signal}: the run was not stopped");
        assert!(!stderr.contains("panicked"), "{stderr}");
        if signal != "KILL" {
            assert!(
                stderr.contains("holds the model after epoch"),
                "{signal}: {stderr}"
            );
            // Stopped cleanly: no temporary file is left beside the checkpoint.
            assert_eq!(listing(dir.path()), ["data", "m.safetensors"]);
        }
        let (_, _, state) = aeclust::model_file::load(&model).unwrap();
        let done = state.unwrap().epochs;
        assert!(done >= 2, "{signal}: checkpoint of epoch {done}");
        let resumed = dir.path().join("resumed.safetensors");
        let out = aeclust(&[
            "train",
            "--data",
            s(&data),
            "--model",
            s(&model),
            "--epochs",
            "1",
            "--model-out",
            s(&resumed),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains(&format!("epoch {}/{}", done + 1, done + 1)));
        std::fs::remove_file(&resumed).unwrap();
    }
}

#[test]
fn a_dataset_larger_than_one_binding_trains_and_encodes_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // 200 000 images of 16 bytes: 3 MB, four buffers under a 1 MiB binding limit.
    common::write_idx_dataset(&data, 200_000, 1000, 4, true);
    let run = |name: &str, limit: &[&str]| {
        let report = dir.path().join(format!("{name}.json"));
        let model = dir.path().join(format!("{name}.safetensors"));
        let codes = dir.path().join(format!("{name}.npy"));
        let train = [
            "train",
            "--data",
            s(&data),
            "--layers",
            "16,8,16",
            "--epochs",
            "1",
            "--batch",
            "256",
            "--report",
            s(&report),
            "--model-out",
            s(&model),
        ];
        let out = aeclust(&[&train[..], limit].concat());
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let encode = [
            "encode",
            "--model",
            s(&model),
            "--data",
            s(&data),
            "--split",
            "train",
            "--out",
            s(&codes),
        ];
        let out = aeclust(&[&encode[..], limit].concat());
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        (
            read_json(&report)["epochs"].clone(),
            std::fs::read(&codes).unwrap(),
        )
    };
    let (split_epochs, split_codes) = run("split", &["--max-binding-mib", "1"]);
    let (whole_epochs, whole_codes) = run("whole", &[]);
    assert_eq!(split_epochs[0]["loss"], whole_epochs[0]["loss"]);
    assert_eq!(split_epochs[0]["val_loss"], whole_epochs[0]["val_loss"]);
    assert!(split_codes == whole_codes, "the codes differ");
    let (values, rows, _) = aeclust::npy::parse_matrix(&split_codes, "codes").unwrap();
    assert_eq!(rows, 200_000);
    assert!(values.iter().all(|v| v.is_finite()));
}

#[test]
fn the_same_seed_gives_the_same_bits() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = tiny_model(dir.path());
    let run = |name: &str| {
        let out = dir.path().join(name);
        let args = [
            "run",
            "--data",
            s(&data),
            "--layers",
            "16,6,3,6,16",
            "--epochs",
            "2",
            "--k",
            "3",
            "--seed",
            "5",
            "--quiet",
            "--out",
            s(&out),
        ];
        let result = aeclust(&args);
        assert!(result.status.success(), "{}", text(&result.stderr));
        out
    };
    let (a, b) = (run("a"), run("b"));
    for file in [
        "codes.npy",
        "assignments.csv",
        "reconstructions.png",
        "model.safetensors",
    ] {
        let same = std::fs::read(a.join(file)).unwrap() == std::fs::read(b.join(file)).unwrap();
        assert!(same, "{file} differs between two runs with the same seed");
    }
    let losses = |dir: &Path| read_json(dir.join("train.json"))["epochs"].clone();
    let (la, lb) = (losses(&a), losses(&b));
    for (ea, eb) in la.as_array().unwrap().iter().zip(lb.as_array().unwrap()) {
        assert_eq!(ea["loss"], eb["loss"]);
        assert_eq!(ea["val_loss"], eb["val_loss"]);
    }
}
