//! `aeclust info`.

use anyhow::Result;

use aeclust::bench::{bench_run, CpuPeak};
use aeclust::data::Dataset;
use aeclust::device::{auto_pick, BackendChoice, Device};
use aeclust::gpu::{list_adapters, GpuContext, GpuRequest};

pub fn info() -> Result<()> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        // Opening one gives the install instructions.
        GpuContext::new(&Default::default())?;
    }
    let picked = auto_pick(&adapters);
    for (i, adapter) in adapters.iter().enumerate() {
        let (a, limits) = (&adapter.summary, &adapter.limits);
        let pick = match (picked, i) {
            (Some(p), i) if p == i => "  <- what --backend auto uses",
            (None, 0) => "  <- what --backend gpu uses",
            _ => "",
        };
        println!("{i}: {} ({}, {}){pick}", a.name, a.api, a.device_type);
        println!("   driver: {}", a.driver);
        println!(
            "   storage binding {} MiB, buffer {} MiB, workgroup storage {} KiB, \
             {} invocations per workgroup, {} storage buffers per stage",
            limits.max_storage_buffer_binding_size >> 20,
            limits.max_buffer_size >> 20,
            limits.max_compute_workgroup_storage_size >> 10,
            limits.max_compute_invocations_per_workgroup,
            limits.max_storage_buffers_per_shader_stage
        );
        let subgroups = adapter
            .subgroups
            .map_or("none".to_string(), |(lo, hi)| format!("{lo}-{hi} wide"));
        println!(
            "   subgroups: {subgroups}, timestamp queries: {}, {} adapter; kernels:",
            if adapter.timestamps { "yes" } else { "no" },
            if adapter.software {
                "software"
            } else {
                "hardware"
            }
        );
        for choice in &adapter.kernels {
            println!(
                "     {}: {} ({})",
                choice.family, choice.variant, choice.why
            );
        }
    }
    if picked.is_none() {
        println!("--backend auto uses the CPU reference: every adapter here is a software one");
    }
    let cpu = Device::Cpu.adapter();
    println!("cpu: {}, {}", cpu.name, cpu.driver);
    measure(picked.map_or(0, |p| p))
}

/// Samples per measurement: a second or two on a software adapter.
const SAMPLES: usize = 4096;
const BATCH: usize = 256;

/// Times the post's model on generated images on the CPU reference and on adapter `index`,
/// and prints the rates, their ratio and the CPU's share of its estimated peak: this
/// machine's figures, not a general claim.
fn measure(index: usize) -> Result<()> {
    let spec = aeclust::recipe::Recipe::Blog.model();
    let mut state = 0x9e37_79b9u32;
    let pixels: Vec<u8> = (0..SAMPLES * 784)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    let images = Dataset {
        count: SAMPLES,
        rows: 28,
        cols: 28,
        channels: 1,
        pixels,
        labels: None,
        classes: Vec::new(),
        names: None,
    };
    let validation = images.clone().truncated(BATCH);
    let (cpu, _) = bench_run(&Device::Cpu, &spec, &images, &validation, BATCH)?;
    let mut line = format!(
        "measured here (the post's model, batch {BATCH}, {SAMPLES} samples): CPU reference {:.0} \
         samples/s",
        cpu.samples_per_sec
    );
    if let Some(peak) = CpuPeak::estimate() {
        line += &format!(
            " ({:.0}% of its estimated {:.0} GFLOP/s peak)",
            100.0 * cpu.gflops / peak.gflops,
            peak.gflops
        );
    }
    let adapters = list_adapters();
    if let Some(adapter) = adapters.get(index) {
        let request = GpuRequest {
            adapter: Some(&adapter.summary.name),
            api: Some(adapter.api),
            ..Default::default()
        };
        let (gpu, _) = Device::open(BackendChoice::Gpu, &request)?;
        let (run, _) = bench_run(&gpu, &spec, &images, &validation, BATCH)?;
        line += &format!(
            "; {} {:.0} samples/s, {:.2}x the CPU",
            adapter.summary.name,
            run.samples_per_sec,
            run.samples_per_sec / cpu.samples_per_sec
        );
    }
    println!("{line}");
    Ok(())
}
