// Memory-read bandwidth probe: streams the whole of a once, chunk by chunk, the way a
// mat-vec streams its weight rows. Chunks are summed independently (in parallel, by the
// compiler) into partial; the result is the total, so no read can be optimised away.
// Two shapes, as no one loop reads fastest on every CPU: read_sum adds up each chunk (LLVM
// vectorizes it with its own four sums); read_dot takes each chunk's dot product with v,
// whose chunk elements stay in the first-level cache, which the compiler lowers as it lowers
// the f32 mat-vec rows (one vector of sums, and the rows' prefetch where the CPU gains from it).

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
    return total(partial, chunks);
}

fn read_dot(f32[] a, f32[] v, f32[] partial, i64 chunks, i64 chunk) -> f32 {
    var c = 0;
    while (c < chunks) {
        var base = c * chunk;
        var s = 0.0;
        var j = 0;
        while (j < chunk) {
            s += a[base + j] * v[j];
            j = j + 1;
        }
        partial[c] = s;
        c = c + 1;
    }
    return total(partial, chunks);
}

fn total(f32[] partial, i64 chunks) -> f32 {
    var t = 0.0;
    var c = 0;
    while (c < chunks) {
        t += partial[c];
        c = c + 1;
    }
    return t;
}
