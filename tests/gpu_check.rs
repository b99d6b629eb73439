//! scripts/gpu-check.sh, the one command for a machine with a real GPU, runs end to end here
//! in its quick mode, on the software adapter, from the binary and the test executables.

mod common;

use common::cli::{read_json, text};

#[test]
fn the_gpu_check_script_runs_end_to_end() {
    common::gpu_device();
    let out = tempfile::tempdir().unwrap();
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let result = std::process::Command::new("bash")
        .arg("scripts/gpu-check.sh")
        .env("QUICK", "1")
        .env("OUT", out.path())
        .env("AECLUST_BIN", env!("CARGO_BIN_EXE_aeclust"))
        .env("AECLUST_TESTS", &deps)
        .output()
        .unwrap();
    let stdout = text(&result.stdout);
    assert!(result.status.success(), "{stdout}{}", text(&result.stderr));
    let summary = read_json(out.path().join("summary.json"));
    assert_eq!(summary["failed"], 0, "{summary}");
    let names: Vec<&str> = summary["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "info",
            "test-kernels",
            "bench-blog",
            "bench-deep",
            "run-deep"
        ]
    );
    for recipe in ["blog", "deep"] {
        let bench = read_json(out.path().join(format!("bench-{recipe}.json")));
        let backends: Vec<&str> = bench["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["backend"].as_str().unwrap())
            .collect();
        assert_eq!(backends, ["gpu", "cpu", "gpu", "cpu"], "{recipe}");
    }
    let report = read_json(out.path().join("run-deep").join("report.json"));
    assert_eq!(report["train"]["backend"], "gpu");
    assert!(stdout.contains("results:"), "{stdout}");
}
