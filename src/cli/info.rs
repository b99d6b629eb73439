//! `aeclust info`.

use anyhow::Result;

use aeclust::device::{auto_pick, Device};
use aeclust::gpu::{list_adapters, GpuContext};

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
            "   subgroups: {subgroups}, timestamp queries: {}, matmul kernel: {}",
            if adapter.timestamps { "yes" } else { "no" },
            adapter.matmul
        );
    }
    if picked.is_none() {
        println!(
            "--backend auto uses the CPU reference: every adapter here is a software one, \
             slower than the CPU reference on the same cores"
        );
    }
    let cpu = Device::Cpu.adapter();
    println!("cpu: {}, {}", cpu.name, cpu.driver);
    Ok(())
}
