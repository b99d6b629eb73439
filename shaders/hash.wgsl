// lowbias32, a 32-bit integer mixer: `reference::umap_layout::mix`, bit for bit. The hash of
// every counter-based draw (negative samples, tree pivots, NN-descent's samples).
fn mix(x0: u32) -> u32 {
    var x = x0;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    return x ^ (x >> 16u);
}
