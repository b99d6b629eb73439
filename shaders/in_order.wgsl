// Float sums in the CPU twins' order. The shader that takes this part defines `zero_bits()`:
// a uniform that is always 0 and unknown to the compiler.

// x as it is, through a xor with that zero: the compiler can neither fuse the product that
// made x into the add or subtract that follows nor reassociate the adds around it (Mesa's
// OpenGL compiler turns a + b + c + d into (a + b) + (c + d) otherwise).
fn opaque(x: vec4<f32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(bitcast<vec4<u32>>(x) ^ vec4<u32>(zero_bits()));
}

// sum plus the components of v, added in order.
fn add_in_order(sum: f32, v: vec4<f32>) -> f32 {
    var s = opaque(vec4(sum + v.x)).x;
    s = opaque(vec4(s + v.y)).x;
    s = opaque(vec4(s + v.z)).x;
    return opaque(vec4(s + v.w)).x;
}
