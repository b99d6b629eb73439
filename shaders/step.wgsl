// Per-step values, one 256-byte slot per training or validation step, bound at a dynamic
// offset so that a whole epoch is recorded without touching the CPU between steps.
struct Step {
    // First index into the sample order buffer.
    first: u32,
    // Valid rows of this batch; the rest of the padded batch is zero and carries no gradient.
    rows: u32,
    // Where this batch's per-sample losses go in the loss buffer.
    loss_offset: u32,
    // Adam's bias-corrected learning rate for this step.
    lr_t: f32,
}
