use std::sync::{Arc, Mutex};

use anyhow::{bail, Result};

/// What the user is told about an adapter.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    /// The graphics API wgpu drives it through ("vulkan", "gl", "metal", "dx12"), or "cpu"
    /// for the CPU reference. Named `backend` in reports, as wgpu calls it.
    #[serde(rename = "backend")]
    pub api: String,
    pub device_type: String,
    pub driver: String,
}

impl AdapterSummary {
    fn from_info(info: &wgpu::AdapterInfo) -> Self {
        AdapterSummary {
            name: info.name.clone(),
            api: format!("{:?}", info.backend).to_lowercase(),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
        }
    }
}

/// The device, its queue, and the facts about it that the kernels are chosen by.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    pub limits: wgpu::Limits,
    /// Subgroups are supported and exactly 8 wide (the lavapipe-tuned matmul applies).
    pub subgroup8: bool,
    /// A software adapter (runs on the CPU, like lavapipe).
    pub software: bool,
    /// Compute passes can write GPU timestamps (for per-kernel timings).
    pub timestamps: bool,
    errors: Arc<Mutex<Vec<String>>>,
}

const INSTALL_HINT: &str = "install a GPU driver with Vulkan, Metal or DX12 support, \
or a software adapter: apt-get install mesa-vulkan-drivers libvulkan1";

/// Hardware first, then software; native APIs before OpenGL.
fn preference(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let device = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    let gl = u8::from(info.backend == wgpu::Backend::Gl);
    (device, gl)
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// What `aeclust info` shows of one adapter.
pub struct AdapterReport {
    pub summary: AdapterSummary,
    pub api: wgpu::Backend,
    pub limits: wgpu::Limits,
    /// (min, max) subgroup size, when the adapter has subgroups.
    pub subgroups: Option<(u32, u32)>,
    pub timestamps: bool,
    /// A software adapter (runs on the CPU, like lavapipe).
    pub software: bool,
    /// The matmul kernel aeclust would use on it.
    pub matmul: &'static str,
    /// Every kernel family's variant on it, and why.
    pub kernels: Vec<super::kernels::KernelChoice>,
}

/// Every adapter wgpu sees, best first (the first is the one `auto` picks).
pub fn list_adapters() -> Vec<AdapterReport> {
    let mut adapters = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
    adapters.sort_by_key(|a| preference(&a.get_info()));
    adapters
        .iter()
        .map(|a| {
            let info = a.get_info();
            let features = a.features();
            let subgroup8 = features.contains(wgpu::Features::SUBGROUP)
                && info.subgroup_min_size == 8
                && info.subgroup_max_size == 8;
            let software = info.device_type == wgpu::DeviceType::Cpu;
            AdapterReport {
                matmul: super::kernels::MatmulVariant::choose(subgroup8, software).name(),
                kernels: super::kernels::choices(subgroup8, software),
                summary: AdapterSummary::from_info(&info),
                api: info.backend,
                limits: a.limits(),
                subgroups: features
                    .contains(wgpu::Features::SUBGROUP)
                    .then_some((info.subgroup_min_size, info.subgroup_max_size)),
                timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
                software,
            }
        })
        .collect()
}

/// Which adapter to open, and how much of it to use.
#[derive(Clone, Copy, Debug, Default)]
pub struct GpuRequest<'a> {
    /// The first adapter whose name contains this (case-insensitive); else the best one.
    pub adapter: Option<&'a str>,
    /// Only adapters of this graphics API.
    pub api: Option<wgpu::Backend>,
    /// Ask the device for bindings and buffers of at most this many bytes, below what the
    /// adapter offers (to run the paths that split large data on a small dataset).
    pub max_binding_bytes: Option<u64>,
}

impl GpuContext {
    pub fn new(request: &GpuRequest) -> Result<Self> {
        let name_filter = request.adapter;
        let mut adapters = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
        adapters.retain(|a| request.api.is_none_or(|api| a.get_info().backend == api));
        if adapters.is_empty() {
            bail!("no GPU adapter found: {INSTALL_HINT}");
        }
        adapters.sort_by_key(|a| preference(&a.get_info()));
        let adapter = match name_filter {
            None => adapters.swap_remove(0),
            Some(filter) => {
                let wanted = filter.to_lowercase();
                let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
                match adapters
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&wanted))
                {
                    Some(a) => a,
                    None => bail!("no adapter name contains {filter:?}; found: {names:?}"),
                }
            }
        };
        Self::open(adapter, request.max_binding_bytes)
    }

    fn open(adapter: wgpu::Adapter, max_binding_bytes: Option<u64>) -> Result<Self> {
        let info = adapter.get_info();
        let summary = AdapterSummary::from_info(&info);
        let subgroup8 = adapter.features().contains(wgpu::Features::SUBGROUP)
            && info.subgroup_min_size == 8
            && info.subgroup_max_size == 8;
        let wanted = wgpu::Features::TIMESTAMP_QUERY
            | if subgroup8 {
                wgpu::Features::SUBGROUP
            } else {
                wgpu::Features::empty()
            };
        let required_features = adapter.features() & wanted;
        let mut limits = adapter.limits();
        if let Some(bytes) = max_binding_bytes {
            limits.max_storage_buffer_binding_size =
                limits.max_storage_buffer_binding_size.min(bytes);
            limits.max_buffer_size = limits.max_buffer_size.min(bytes);
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("aeclust"),
            required_features,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| anyhow::anyhow!("cannot open a device on {}: {e}", summary.name))?;

        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let line = e.to_string().lines().next().unwrap_or("").to_string();
            sink.lock().expect("error sink").push(line);
        }));
        let lost = errors.clone();
        device.set_device_lost_callback(move |reason, message| {
            if reason != wgpu::DeviceLostReason::Destroyed {
                lost.lock()
                    .expect("error sink")
                    .push(format!("device lost: {message}"));
            }
        });
        Ok(GpuContext {
            device,
            queue,
            adapter: summary,
            limits,
            subgroup8,
            software: info.device_type == wgpu::DeviceType::Cpu,
            timestamps: required_features.contains(wgpu::Features::TIMESTAMP_QUERY),
            errors,
        })
    }

    /// Turns any validation, out-of-memory or device-lost error raised so far into an `Err`.
    pub fn check(&self) -> Result<()> {
        let errors = std::mem::take(&mut *self.errors.lock().expect("error sink"));
        match errors.first() {
            None => Ok(()),
            Some(first) => bail!("GPU error on {}: {first}", self.adapter.name),
        }
    }

    /// Blocks until all submitted work is done, then reports any GPU error.
    pub fn wait(&self) -> Result<()> {
        if let Err(e) = self.device.poll(wgpu::PollType::wait_indefinitely()) {
            bail!("GPU wait failed on {}: {e}", self.adapter.name);
        }
        self.check()
    }

    /// The largest buffer the device can create and bind whole, in bytes (a multiple of 4).
    pub fn max_binding_bytes(&self) -> u64 {
        let limits = &self.limits;
        limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
            / 4
            * 4
    }

    /// Fails with a clear message when a buffer would exceed what the device can bind.
    pub fn check_binding_size(&self, what: &str, bytes: u64) -> Result<()> {
        let limit = self.max_binding_bytes();
        if bytes > limit {
            bail!(
                "{what} needs {} MiB in one GPU buffer, more than {} allows ({} MiB)",
                bytes >> 20,
                self.adapter.name,
                limit >> 20
            );
        }
        Ok(())
    }

    /// Offsets of buffer sub-ranges bound as storage must be multiples of this many floats.
    pub fn storage_align_floats(&self) -> usize {
        (self.limits.min_storage_buffer_offset_alignment as usize / 4).max(1)
    }
}
