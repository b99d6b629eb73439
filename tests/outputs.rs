//! Where outputs land: devices are written through, FIFOs refused, links followed, one run
//! per output directory, stale pictures removed, and interrupts leave no temporary files.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aeclust::output::DirLock;
use common::cli::{aeclust, assert_clean_failure, listing, s, text};

/// A tiny dataset and the arguments of a one-epoch `train` on it.
fn tiny(dir: &Path) -> String {
    let data = dir.join("data");
    common::write_idx_dataset(&data, 64, 32, 4, false);
    s(&data).to_string()
}

fn train_with_report(data: &str, report: &Path) -> std::process::Output {
    aeclust(&[
        "train",
        "--data",
        data,
        "--layers",
        "16,4,16",
        "--epochs",
        "1",
        "--quiet",
        "--report",
        s(report),
    ])
}

#[test]
fn devices_are_written_through_and_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny(dir.path());
    let out = train_with_report(&data, Path::new("/dev/null"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = train_with_report(&data, Path::new("/dev/full"));
    assert_clean_failure(&out, "No space left on device");
    for device in ["/dev/null", "/dev/full"] {
        let kind = std::fs::metadata(device).unwrap().file_type();
        assert!(kind.is_char_device(), "{device} was replaced");
    }
}

#[test]
fn fifos_are_refused_and_links_followed() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny(dir.path());
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = train_with_report(&data, &fifo);
    assert_clean_failure(&out, "it is a FIFO, not a regular file");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    // A link to a file: the file gets the report, the link stays a link.
    let target = dir.path().join("real.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("real.json", &link).unwrap();
    let out = train_with_report(&data, &link);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .contains("final_loss"));
    // A dangling link: its target is created.
    let dangling = dir.path().join("dangling.json");
    std::os::unix::fs::symlink("new.json", &dangling).unwrap();
    let out = train_with_report(&data, &dangling);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("new.json").is_file());
    assert!(std::fs::symlink_metadata(&dangling).unwrap().is_symlink());
    // No temporary file stayed behind.
    assert!(listing(dir.path()).iter().all(|n| !n.contains(".tmp-")));
}

#[test]
fn one_run_at_a_time_per_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny(dir.path());
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let held = DirLock::acquire(&out_dir).unwrap();
    let run = || {
        aeclust(&[
            "run",
            "--data",
            &data,
            "--out",
            s(&out_dir),
            "--layers",
            "16,4,16",
            "--epochs",
            "1",
            "--k",
            "3",
            "--quiet",
        ])
    };
    assert_clean_failure(&run(), "another aeclust run is writing to");
    assert!(listing(&out_dir).is_empty());
    // Another path to the same directory meets the same lock.
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&out_dir, &link).unwrap();
    let through = aeclust(&[
        "run",
        "--data",
        &data,
        "--out",
        s(&link),
        "--layers",
        "16,4,16",
        "--k",
        "3",
    ]);
    assert_clean_failure(&through, "another aeclust run is writing to");
    drop(held);
    let out = run();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_smaller_k_removes_its_own_stale_pictures_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny(dir.path());
    let model = dir.path().join("m.safetensors");
    let out = aeclust(&[
        "train",
        "--data",
        &data,
        "--layers",
        "16,4,16",
        "--epochs",
        "1",
        "--quiet",
        "--model-out",
        s(&model),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pictures = dir.path().join("pictures");
    std::fs::create_dir(&pictures).unwrap();
    for other in ["cluster-notes.png", "mine.txt", "cluster-7.png.bak"] {
        std::fs::write(pictures.join(other), "keep").unwrap();
    }
    for k in ["5", "3"] {
        let out = aeclust(&[
            "cluster",
            "--model",
            s(&model),
            "--data",
            &data,
            "--k",
            k,
            "--n-init",
            "1",
            "--pictures",
            s(&pictures),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(
        listing(&pictures),
        [
            ".aeclust-output",
            "cluster-0.png",
            "cluster-1.png",
            "cluster-2.png",
            "cluster-7.png.bak",
            "cluster-notes.png",
            "clusters.png",
            "map.png",
            "mine.txt",
            "report.html"
        ]
    );
}

/// Starts `args` on the GPU adapter, waits until its stdout has printed a line containing
/// `ready`, sends SIGTERM, and returns how long it took to exit, its status and stderr.
fn terminate_when(args: &[&str], ready: &str) -> (Duration, std::process::ExitStatus, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_aeclust"))
        .args(args)
        .env("AECLUST_BACKEND", "gpu")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (seen, wait) = std::sync::mpsc::channel();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let ready = ready.to_string();
    // Reads stdout to its end, so that the child never writes into a closed pipe.
    let reader = std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if line.contains(&ready) {
                let _ = seen.send(());
            }
        }
    });
    wait.recv_timeout(Duration::from_secs(120))
        .expect("the run got going");
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    reader.join().unwrap();
    (took, output.status, text(&output.stderr))
}

#[test]
fn sigterm_stops_a_run_within_seconds_in_any_phase() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // 784-pixel images and a wide model: one progress report (256 steps at batch 1024) is
    // far away on a software adapter, so only the grace period ends the run in time.
    common::write_idx_dataset(&data, 300_000, 16, 28, false);
    let model = dir.path().join("m.safetensors");
    let (took, status, stderr) = terminate_when(
        &[
            "train",
            "--data",
            s(&data),
            "--layers",
            "784,2000,784",
            "--batch",
            "1024",
            "--model-out",
            s(&model),
        ],
        "backend: gpu",
    );
    assert!(
        took < Duration::from_secs(5),
        "training: {took:?}; {stderr}"
    );
    assert!(
        !status.success() && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(!model.exists(), "training: a model was saved");
    assert!(listing(dir.path()).iter().all(|n| !n.contains(".tmp-")));
}
