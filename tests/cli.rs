//! The real binary's commands on small data, end to end: what each writes and prints.

mod common;

use std::path::Path;

use common::cli::{
    aeclust, aeclust_with, assert_clean_failure, listing, read_json, s, text, tiny_dataset,
    tiny_model_of, train_tiny,
};

#[test]
fn trains_another_idx_dataset_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tiny");
    common::write_idx_dataset(&data, 64, 40, 8, true);
    let report = dir.path().join("r.json");
    let out = aeclust(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--layers",
        "64,16,4,16,64",
        "--epochs",
        "2",
        "--batch",
        "16",
        "--report",
        report.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("epoch 2/2: loss"), "{stdout}");
    let json = read_json(&report);
    assert_eq!(json["backend"], "gpu");
    for key in ["name", "backend", "device_type"] {
        assert!(
            json["adapter"][key].is_string(),
            "adapter.{key} missing: {json}"
        );
    }
    let epochs = json["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 2);
    for key in ["epoch", "loss", "val_loss", "seconds", "samples_per_sec"] {
        assert!(
            epochs[1][key].is_number(),
            "epochs[1].{key} missing: {json}"
        );
    }
    assert_eq!(json["final_val_loss"], epochs[1]["val_loss"]);
    // No temporary file is left beside the report.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn cpu_backend_trains_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let out = train_tiny(&["--backend", "cpu", "--report", report.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("data: "), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("backend: cpu")),
        "{stdout}"
    );
    let json = read_json(&report);
    assert_eq!(json["backend"], "cpu");
    assert!(json["final_val_loss"].as_f64().unwrap().is_finite());
}

/// `aeclust bench` with `args` on 64 MNIST-sized images, all of them per timed run: what it
/// printed and the JSON it wrote (it must succeed).
fn bench_tiny(args: &[&str]) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("mnist-like");
    common::write_idx_dataset(&data, 64, 16, 28, false);
    let json_path = dir.path().join("bench.json");
    let (data, json) = (s(&data), s(&json_path));
    let fixed = ["bench", "--data", data, "--samples", "64", "--json", json];
    let out = aeclust(&[&fixed[..], args].concat());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    (stdout, read_json(&json_path))
}

#[test]
fn bench_times_both_backends_and_writes_json() {
    let (stdout, json) = bench_tiny(&["--batch", "16,64"]);
    assert!(stdout.contains("GPU/CPU"), "{stdout}");
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    // On Linux the CPU's fp32 peak is estimated, and the CPU rows say how much of it they reach.
    if cfg!(target_os = "linux") {
        let peak = &json["cpu_peak"];
        assert!(peak["gflops"].as_f64().unwrap() > 1.0, "{peak}");
        assert!(
            [4, 8, 16].contains(&peak["lanes"].as_u64().unwrap()),
            "{peak}"
        );
        assert!(stdout.contains("% peak"), "{stdout}");
    }
    // Per-kernel GPU times where the adapter has timestamp queries (lavapipe has).
    for kernel in json["kernels"].as_array().unwrap() {
        assert!(kernel["microseconds"].as_f64().unwrap() >= 0.0, "{kernel}");
        assert!(kernel["kernel"].is_string());
    }
    for (run, (backend, batch)) in
        runs.iter()
            .zip([("gpu", 16), ("cpu", 16), ("gpu", 64), ("cpu", 64)])
    {
        assert_eq!(run["backend"], backend);
        assert_eq!(run["batch"], batch);
        assert!(run["samples_per_sec"].as_f64().unwrap() > 0.0);
        assert!(run["gflops"].as_f64().unwrap() > 0.0);
        assert!(run["adapter"].is_string());
    }
}

#[test]
fn bench_repeats_each_run_and_shows_the_median_and_the_range() {
    let (stdout, json) = bench_tiny(&["--cpu-only", "--batch", "16", "--repeat", "3"]);
    let runs = json["runs"].as_array().unwrap().clone();
    let repetitions: Vec<u64> = runs
        .iter()
        .map(|r| r["repetition"].as_u64().unwrap())
        .collect();
    assert_eq!(repetitions, [0, 1, 2]);
    let mut rates: Vec<f64> = runs
        .iter()
        .map(|r| r["samples_per_sec"].as_f64().unwrap())
        .collect();
    rates.sort_by(f64::total_cmp);
    let row = stdout
        .lines()
        .find(|l| l.starts_with("cpu"))
        .expect("a CPU row");
    let fields: Vec<&str> = row.split_whitespace().collect();
    // backend, adapter (several words), batch, samples/s, ..., range last.
    let batch = fields
        .iter()
        .position(|&f| f == "16")
        .expect("the batch size");
    assert_eq!(fields[batch + 1], format!("{:.0}", rates[1]), "{row}");
    let range = format!("{:.0}-{:.0}", rates[0], rates[2]);
    assert_eq!(fields.last().copied(), Some(range.as_str()), "{row}");
}

#[test]
fn bench_refuses_zero_repeats() {
    let out = aeclust(&["bench", "--cpu-only", "--repeat", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--repeat"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn train_saves_a_model_that_encode_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = tiny_model_of(dir.path(), 40, 24);
    let (data, model) = (s(&data), s(&model));
    for backend in ["gpu", "cpu"] {
        let codes = dir.path().join(format!("codes-{backend}.npy"));
        let out = aeclust(&[
            "encode",
            "--model",
            model,
            "--data",
            data,
            "--split",
            "train",
            "--backend",
            backend,
            "--out",
            codes.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let (values, rows, cols) = aeclust::npy::read_matrix(&codes).unwrap();
        assert_eq!((rows, cols, values.len()), (40, 3, 120));
    }
    // A model whose input does not fit the images.
    let other = dir.path().join("other");
    common::write_idx_dataset(&other, 8, 8, 5, false);
    let out = aeclust(&[
        "encode",
        "--model",
        model,
        "--data",
        other.to_str().unwrap(),
        "--out",
        "/tmp/x.npy",
    ]);
    assert_clean_failure(
        &out,
        "made for images of 4x4 gray, but these images are 5x5 gray",
    );
    let out = aeclust(&[
        "encode",
        "--model",
        data,
        "--data",
        data,
        "--out",
        "/tmp/x.npy",
    ]);
    assert_clean_failure(&out, "cannot read the model");
}

#[test]
fn cluster_scores_codes_and_pixels_and_writes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = tiny_model_of(dir.path(), 60, 50);
    let (data, model) = (s(&data), s(&model));
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let out = aeclust(&[
        "cluster",
        "--model",
        model,
        "--data",
        data,
        "--k",
        "4",
        "--n-init",
        "2",
        "--pixels",
        "--report",
        &path("c.json"),
        "--assignments",
        &path("a.txt"),
        "--pictures",
        &path("pics"),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("codes") && stdout.contains("pixels") && stdout.contains("cluster"),
        "{stdout}"
    );
    let json = read_json(path("c.json"));
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for (run, features) in runs.iter().zip(["codes", "pixels"]) {
        assert_eq!(run["features"], features);
        assert_eq!(run["k"], 4);
        for key in ["inertia", "iterations", "seconds", "acc", "nmi", "ari"] {
            assert!(run[key].is_number(), "{key} missing: {run}");
        }
    }
    let assignments = std::fs::read_to_string(path("a.txt")).unwrap();
    let mut lines = assignments.lines();
    assert_eq!(lines.next(), Some("image,cluster,label,distance"));
    assert_eq!(lines.clone().count(), 50);
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[0], i.to_string(), "{line}");
        assert!(fields[1].parse::<u32>().unwrap() < 4, "{line}");
        assert!(fields[2].parse::<u8>().unwrap() < 10, "{line}");
        assert!(fields[3].parse::<f64>().unwrap() >= 0.0, "{line}");
    }
    for name in (0..4)
        .map(|c| format!("cluster-{c}.png"))
        .chain(["clusters.png".into()])
    {
        let png = std::fs::read(dir.path().join("pics").join(name)).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
    }

    // The codes from `encode` cluster the same way as from the model.
    let codes = path("codes.npy");
    let out = aeclust(&["encode", "--model", model, "--data", data, "--out", &codes]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = aeclust(&[
        "cluster",
        "--codes",
        &codes,
        "--data",
        data,
        "--k",
        "4",
        "--n-init",
        "2",
        "--assignments",
        &path("b.txt"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(path("b.txt")).unwrap(), assignments);

    // Codes of the test split, said to be the training split's: clustered, not scored, and
    // the notice says why.
    let out = aeclust(&[
        "cluster", "--codes", &codes, "--data", data, "--split", "train", "--k", "4",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("acc -"), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("not scored: the train split of")
            && text(&out.stderr).contains("holds 60 images, the codes 50 rows"),
        "{}",
        text(&out.stderr)
    );

    let out = aeclust(&["cluster", "--codes", &codes, "--data", data, "--k", "51"]);
    assert_clean_failure(&out, "--k 51 is more than the 50 points to cluster");
    assert_clean_failure(&aeclust(&["cluster", "--codes", model]), "not a .npy file");
}

#[test]
fn run_leaves_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tiny");
    common::write_idx_dataset(&data, 48, 40, 4, true);
    let out_dir = dir.path().join("out");
    let out = aeclust(&[
        "run",
        "--out",
        out_dir.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--layers",
        "16,6,3,6,16",
        "--epochs",
        "1",
        "--k",
        "3",
        "--n-init",
        "1",
        "--pixels",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("summary"), "{stdout}");
    // The report lists exactly what the directory holds (besides the mark of an output).
    let report = read_json(out_dir.join("report.json"));
    let mut listed: Vec<String> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().trim_end_matches('/').to_string())
        .collect();
    listed.sort();
    let mut present = listing(&out_dir);
    present.retain(|name| name != ".aeclust-output");
    assert_eq!(listed, present);
    for file in [
        "model.safetensors",
        "codes.npy",
        "reconstructions.png",
        "clusters.png",
        "loss.png",
        "map.png",
        "summary.md",
        "assignments.csv",
        "clustering.safetensors",
        "report.html",
    ] {
        assert!(out_dir.join(file).is_file(), "{file} missing");
    }
    let clusters = read_json(out_dir.join("clusters.json"));
    assert_eq!(report["clustering"], clusters["runs"]);
    assert!(report["train"]["final_val_loss"].is_number());
    let summary = std::fs::read_to_string(out_dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("| codes (40 x 3)") && summary.contains("| pixels (40 x 16)"),
        "{summary}"
    );
    assert_eq!(clusters["runs"].as_array().unwrap().len(), 2);
    assert_eq!(
        aeclust::npy::read_matrix(&out_dir.join("codes.npy"))
            .unwrap()
            .1,
        40
    );
    let pictures = listing(&out_dir.join("clusters"));
    assert_eq!(
        pictures,
        [
            ".aeclust-output",
            "cluster-0.png",
            "cluster-1.png",
            "cluster-2.png"
        ]
    );
}

#[test]
fn resumed_training_equals_one_longer_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tiny");
    common::write_idx_dataset(&data, 70, 20, 4, false);
    let data = data.to_str().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    for backend in ["gpu", "cpu"] {
        let train = |epochs: &str, seed: &str, extra: &[&str]| {
            let base = [
                "train",
                "--data",
                data,
                "--layers",
                "16,6,3,6,16",
                "--batch",
                "16",
            ];
            let args = [
                &base[..],
                &["--backend", backend, "--seed", seed, "--epochs", epochs],
                extra,
            ]
            .concat();
            let out = aeclust(&args);
            assert!(out.status.success(), "{}", text(&out.stderr));
            text(&out.stdout)
        };
        let (full, half, resumed) = (path("full"), path("half"), path("resumed"));
        train("3", "4", &["--model-out", &full]);
        train("1", "4", &["--model-out", &half]);
        // The seed is the file's (another --seed is refused: tests/reliability.rs).
        let stdout = train("2", "4", &["--model", &half, "--model-out", &resumed]);
        assert!(
            stdout.contains("epoch 3/"),
            "epochs are numbered on: {stdout}"
        );
        let (_, full_params, full_state) = aeclust::model_file::load(Path::new(&full)).unwrap();
        let (_, resumed_params, resumed_state) =
            aeclust::model_file::load(Path::new(&resumed)).unwrap();
        assert_eq!(full_params, resumed_params, "{backend}: weights differ");
        assert_eq!(full_state, resumed_state, "{backend}: Adam states differ");
        assert_eq!(full_state.unwrap().epochs, 3);
    }
    let out = aeclust(&["train", "--data", data, "--model", data]);
    assert_clean_failure(&out, "cannot read the model");
}

#[test]
fn info_lists_the_adapters_and_the_pick() {
    common::gpu_device();
    let out = aeclust(&["info"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.starts_with("0: "), "{stdout}");
    // With only software adapters (as in CI), auto means the CPU; with a GPU, the GPU.
    let adapters = aeclust::gpu::list_adapters();
    if adapters.iter().all(|a| a.software) {
        assert!(
            stdout.contains("--backend auto uses the CPU reference"),
            "{stdout}"
        );
        assert!(stdout.contains("<- what --backend gpu uses"), "{stdout}");
    } else {
        assert!(stdout.contains("<- what --backend auto uses"), "{stdout}");
    }
    for needle in [
        "driver:",
        "storage binding",
        "subgroups:",
        "matmul: ",
        "k-means: ",
    ] {
        assert!(stdout.contains(needle), "{needle} missing: {stdout}");
    }
    // The CPU reference's line names the sgemm it runs; the last line is this machine's
    // measured rates.
    let lines: Vec<&str> = stdout.lines().collect();
    let cpu = lines[lines.len() - 2];
    let sgemm = aeclust::reference::sgemm_name();
    let measured = lines[lines.len() - 1];
    assert!(
        measured.starts_with("measured here") && measured.contains("x the CPU"),
        "{stdout}"
    );
    assert!(
        cpu.starts_with("cpu: CPU reference (") && cpu.ends_with(sgemm),
        "{stdout}"
    );
}

#[test]
fn auto_picks_a_hardware_gpu_or_else_the_cpu() {
    common::gpu_device();
    let software_only = aeclust::gpu::list_adapters().iter().all(|a| a.software);
    let dir = tempfile::tempdir().unwrap();
    let data = tiny_dataset(dir.path());
    let train = |backend: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_aeclust"));
        command.args([
            "train", "--data", &data, "--layers", "16,4,16", "--epochs", "1",
        ]);
        match backend {
            Some(b) => command.env("AECLUST_BACKEND", b),
            None => command.env_remove("AECLUST_BACKEND"),
        };
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    };
    let (stdout, stderr) = train(None);
    if software_only {
        assert!(stdout.contains("backend: cpu"), "{stdout}");
        assert!(
            stderr.contains("notice: no hardware GPU: running on the CPU"),
            "{stderr}"
        );
    } else {
        assert!(stdout.contains("backend: gpu"), "{stdout}");
    }
    // Asked for, a software adapter runs.
    assert!(train(Some("gpu")).0.contains("backend: gpu"));
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny_dataset(dir.path());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_aeclust"))
        .args([
            "train", "--data", &data, "--layers", "16,4,16", "--epochs", "3",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn deep_recipe_and_umap_run_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_idx_dataset(&data, 120, 80, 4, false);
    let model = dir.path().join("m.safetensors");
    let report = dir.path().join("c.json");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    // The deep recipe with smaller layers: its linear code, MSE and batch stay.
    let out = aeclust(&[
        "train",
        "--recipe",
        "deep",
        "--data",
        &s(&data),
        "--layers",
        "16,12,12,20,3,20,12,12,16",
        "--epochs",
        "2",
        "--model-out",
        &s(&model),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("relu,relu,relu,linear,relu,relu,relu,linear; mse"),
        "{stdout}"
    );
    let (spec, _, _) = aeclust::model_file::load(&model).unwrap();
    assert_eq!(spec.loss, aeclust::model::Loss::Mse);
    assert_eq!(spec.activations[3], aeclust::model::Activation::Linear);
    for backend in ["gpu", "cpu"] {
        let out = aeclust(&[
            "cluster",
            "--model",
            &s(&model),
            "--data",
            &s(&data),
            "--k",
            "3",
            "--pixels",
            "--embed",
            "umap",
            "--neighbors",
            "8",
            "--embed-dims",
            "2",
            "--embed-epochs",
            "30",
            "--neighbour-search",
            "nn-descent",
            "--backend",
            backend,
            "--report",
            &s(&report),
        ]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            stdout.contains("codes+umap") && stdout.contains("pixels+umap"),
            "{stdout}"
        );
        let json = read_json(&report);
        let runs = json["runs"].as_array().unwrap();
        let features: Vec<&str> = runs
            .iter()
            .map(|r| r["features"].as_str().unwrap())
            .collect();
        assert_eq!(features, ["codes", "codes+umap", "pixels", "pixels+umap"]);
        let embedding = &runs[1]["embedding"];
        assert_eq!(embedding["method"], "umap");
        assert_eq!(embedding["neighbors"], 8);
        assert_eq!(embedding["search"], "nn-descent");
        assert_eq!(embedding["neighbour_search_used"], "nn-descent");
        assert_eq!(runs[1]["dims"], 2);
        assert!(embedding["seconds"].is_number() && runs[1]["acc"].is_number());
        assert!(runs[0]["embedding"].is_null());
    }
    let out = aeclust(&[
        "cluster",
        "--model",
        &s(&model),
        "--data",
        &s(&data),
        "--embed",
        "umap",
        "--neighbors",
        "1",
    ]);
    assert_clean_failure(&out, "--neighbors must be between 2 and 65");
    let out = aeclust(&[
        "train",
        "--data",
        &s(&data),
        "--layers",
        "16,4,16",
        "--loss",
        "mse",
        "--activations",
        "relu,sigmoid",
    ]);
    assert_clean_failure(&out, "the mse loss needs a linear output layer");
}

#[test]
fn the_whole_run_works_through_every_graphics_api_present() {
    // The library's GPU tests run on every adapter (tests/common/devices.rs); the binary
    // picks one, so each API is asked for here by name, as a user would with WGPU_BACKEND.
    common::gpu_device();
    let mut apis: Vec<String> = Vec::new();
    for adapter in aeclust::gpu::list_adapters() {
        if !apis.contains(&adapter.summary.api) {
            apis.push(adapter.summary.api);
        }
    }
    for api in apis {
        let dir = tempfile::tempdir().unwrap();
        let data = tiny_dataset(dir.path());
        let out_dir = dir.path().join("out");
        let args = [
            "run",
            "--data",
            &data,
            "--layers",
            "16,4,16",
            "--epochs",
            "1",
            "--k",
            "3",
            "--n-init",
            "1",
            "--out",
            s(&out_dir),
        ];
        let out = aeclust_with(&args, &[("WGPU_BACKEND", &api)]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{api}: {}", text(&out.stderr));
        assert!(stdout.contains(&format!("({api}, ")), "{api}: {stdout}");
        assert!(out_dir.join("summary.md").is_file(), "{api}");
    }
}
