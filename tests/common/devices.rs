//! The devices a test body runs on: the CPU twin and every wgpu adapter present, one per
//! graphics API (lavapipe through Vulkan and llvmpipe through OpenGL on a machine without a
//! GPU). No adapter is a failure with an install hint, never a silent pass.

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use aeclust::device::Device;
use aeclust::gpu::kernels::Kernels;
use aeclust::gpu::{list_adapters, Gpu, GpuContext, GpuRequest};

const INSTALL_HINT: &str = "The GPU tests need a wgpu adapter. Without a GPU, install the \
    software ones: apt-get install -y mesa-vulkan-drivers libvulkan1 (Vulkan) libegl1 \
    libgl1-mesa-dri (OpenGL)";

/// Every adapter present, one per graphics API (the best of each), with its kernels; with
/// `max_binding_bytes`, asking each device for bindings of at most that size.
pub fn open_gpus(max_binding_bytes: Option<u64>) -> Vec<Gpu> {
    let mut apis = Vec::new();
    for adapter in list_adapters() {
        if !apis.contains(&adapter.api) {
            apis.push(adapter.api);
        }
    }
    assert!(!apis.is_empty(), "no wgpu adapter found. {INSTALL_HINT}");
    apis.into_iter()
        .map(|api| {
            let request = GpuRequest {
                api: Some(api),
                max_binding_bytes,
                ..Default::default()
            };
            let ctx = GpuContext::new(&request).unwrap_or_else(|e| panic!("{e:#}. {INSTALL_HINT}"));
            let kernels = Kernels::new(&ctx).unwrap();
            Gpu { ctx, kernels }
        })
        .collect()
}

/// The devices of `open_gpus(None)`, opened once per test binary.
pub fn gpus() -> &'static [Device] {
    static GPUS: OnceLock<Vec<Device>> = OnceLock::new();
    GPUS.get_or_init(|| {
        open_gpus(None)
            .into_iter()
            .map(|gpu| Device::Gpu(Box::new(gpu)))
            .collect()
    })
}

/// The first (best) GPU device, for tests of what does not depend on the adapter.
pub fn gpu_device() -> &'static Device {
    &gpus()[0]
}

/// "cpu", or the adapter's name and API: what a failing test ran on.
pub fn name(device: &Device) -> String {
    let adapter = device.adapter();
    format!("{} ({})", adapter.name, adapter.api)
}

/// Holds `device` for this test thread while the result lives, if it is an OpenGL one.
/// wgpu's OpenGL backend locks its context for a whole submission and wait, and panics when
/// another thread has waited for it 6 s ("Could not lock adapter context"), which a long
/// kernel on a loaded llvmpipe reaches: test threads take turns on it. Vulkan needs no turns.
pub fn take_turn(device: &Device) -> Option<MutexGuard<'static, ()>> {
    static OPENGL: Mutex<()> = Mutex::new(());
    // A test that failed holding the turn leaves nothing half-done for the next one.
    (device.adapter().api == "gl").then(|| OPENGL.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Runs `body` on the CPU twin, then on every GPU adapter present.
pub fn for_each_device(body: impl Fn(&Device)) {
    for device in std::iter::once(&Device::Cpu).chain(gpus()) {
        eprintln!("on {}", name(device));
        let _turn = take_turn(device);
        body(device);
    }
}

/// Runs `body` on every GPU adapter present.
pub fn for_each_gpu(body: impl Fn(&Gpu)) {
    for_each_gpu_device(|device| {
        if let Device::Gpu(gpu) = device {
            body(gpu);
        }
    });
}

/// Runs `body` on every GPU adapter present, as a `Device`.
pub fn for_each_gpu_device(body: impl Fn(&Device)) {
    for device in gpus() {
        eprintln!("on {}", name(device));
        let _turn = take_turn(device);
        body(device);
    }
}
