//! `aeclust info`.

use anyhow::Result;

use aeclust::gpu::{list_adapters, GpuContext};

pub fn info() -> Result<()> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        // Opening one gives the install instructions.
        GpuContext::new(None)?;
    }
    for (i, (a, limits)) in adapters.iter().enumerate() {
        let pick = if i == 0 { "  <- used by default" } else { "" };
        println!(
            "{}: {} ({}, {}, driver {}){pick}",
            i, a.name, a.backend, a.device_type, a.driver
        );
        println!(
            "   max storage binding {} MiB, max buffer {} MiB, workgroup storage {} KiB, \
             {} invocations per workgroup",
            limits.max_storage_buffer_binding_size >> 20,
            limits.max_buffer_size >> 20,
            limits.max_compute_workgroup_storage_size >> 10,
            limits.max_compute_invocations_per_workgroup
        );
    }
    Ok(())
}
