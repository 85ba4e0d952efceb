// Memory-read bandwidth probe: streams the whole of a once, chunk by chunk, the way a
// mat-vec streams its weight rows. Chunks are summed independently (in parallel, by the
// compiler) into partial; the result is the total, so no read can be optimised away.
fn read_sum(f32[] a, f32[] partial, i64 chunks, i64 chunk) -> f32 {
    var c = 0;
    while (c < chunks) {
        var base = c * chunk;
        var s = 0.0;
        var j = 0;
        while (j < chunk) {
            s += a[base + j];
            j = j + 1;
        }
        partial[c] = s;
        c = c + 1;
    }
    var total = 0.0;
    c = 0;
    while (c < chunks) {
        total += partial[c];
        c = c + 1;
    }
    return total;
}
