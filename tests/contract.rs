//! The Rust/WGSL contract, checked without a GPU: every entry point the host builds parses and
//! validates with naga (the version wgpu uses), and the bind group layout the host gives it
//! matches the shader's bindings one for one: count, kind, read-only or not, and the size of
//! the per-step uniform.

use aeclust::gpu::kernels::{catalog, EntryPoint, Slot};
use naga::valid::{Capabilities, ValidationFlags, Validator};
use naga::{AddressSpace, StorageAccess};

/// How the shader declares one binding of group 0.
#[derive(Debug, PartialEq)]
enum Declared {
    Uniform { bytes: u32 },
    Storage { read_only: bool },
}

fn module_of(spec: &EntryPoint) -> (naga::Module, naga::valid::ModuleInfo) {
    let names: Vec<&str> = spec.parts.iter().map(|(name, _)| *name).collect();
    let source = aeclust::gpu::wgsl_source(&spec.parts);
    let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
        panic!(
            "{} ({}): {}",
            spec.entry,
            names.join(" + "),
            e.emit_to_string(&source)
        )
    });
    let info = Validator::new(ValidationFlags::all(), Capabilities::all())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{} ({}): {e:?}", spec.entry, names.join(" + ")));
    (module, info)
}

/// The bindings of group 0 in binding order, and the bindings the entry point uses.
fn declared_bindings(spec: &EntryPoint) -> (Vec<(u32, Declared)>, Vec<u32>) {
    let (module, info) = module_of(spec);
    let index = module
        .entry_points
        .iter()
        .position(|ep| ep.name == spec.entry)
        .unwrap_or_else(|| panic!("no entry point {}", spec.entry));
    let uses = info.get_entry_point(index);
    let mut declared = Vec::new();
    let mut used = Vec::new();
    for (handle, var) in module.global_variables.iter() {
        let Some(binding) = &var.binding else {
            continue;
        };
        assert_eq!(binding.group, 0, "{}: only group 0 is bound", spec.entry);
        let kind = match var.space {
            AddressSpace::Uniform => Declared::Uniform {
                bytes: module.types[var.ty].inner.size(module.to_ctx()),
            },
            AddressSpace::Storage { access } => Declared::Storage {
                read_only: !access.contains(StorageAccess::STORE),
            },
            other => panic!("{}: unexpected address space {other:?}", spec.entry),
        };
        if !uses[handle].is_empty() {
            used.push(binding.binding);
        }
        declared.push((binding.binding, kind));
    }
    declared.sort_by_key(|(binding, _)| *binding);
    (declared, used)
}

fn matches(slot: Slot, declared: &Declared) -> bool {
    match (slot, declared) {
        (Slot::Uniform, Declared::Uniform { .. }) => true,
        (Slot::StepUniform(size), Declared::Uniform { bytes }) => u64::from(*bytes) == size,
        (Slot::Read, Declared::Storage { read_only }) => *read_only,
        (Slot::ReadWrite, Declared::Storage { read_only }) => !*read_only,
        _ => false,
    }
}

#[test]
fn every_entry_point_validates_and_matches_its_bind_group_layout() {
    let entries = catalog();
    assert!(entries.len() >= 12, "the catalog lists every entry point");
    for spec in &entries {
        let (declared, used) = declared_bindings(spec);
        let numbers: Vec<u32> = declared.iter().map(|(b, _)| *b).collect();
        let expected: Vec<u32> = (0..spec.slots.len() as u32).collect();
        assert_eq!(
            numbers,
            expected,
            "{}: the shader declares bindings {numbers:?}, the host binds {}",
            spec.entry,
            spec.slots.len()
        );
        for ((binding, kind), &slot) in declared.iter().zip(&spec.slots) {
            assert!(
                matches(slot, kind),
                "{} binding {binding}: the shader declares {kind:?}, the host binds {slot:?}",
                spec.entry
            );
        }
        assert!(!used.is_empty(), "{} uses no binding", spec.entry);
    }
}

#[test]
fn a_drift_between_host_and_shader_is_caught() {
    // The check itself can fail: a read-only slot for a written buffer, or one slot too few.
    let mut spec = catalog()
        .into_iter()
        .find(|s| s.entry == "column_sums")
        .expect("column_sums is in the catalog");
    let (declared, _) = declared_bindings(&spec);
    assert!(!matches(Slot::Read, &declared[2].1));
    spec.slots.pop();
    assert_ne!(declared.len(), spec.slots.len());
}
