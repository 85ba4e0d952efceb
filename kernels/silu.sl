// SiLU activation, written with loops and with the builtin: out[i] = x[i] / (1 + exp(−x[i])).

fn silu_loops(f32[] out, f32[] x, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] = x[i] / (1.0 + exp(-x[i]));
        i = i + 1;
    }
}

fn silu_builtin(f32[] out, f32[] x, i64 n) {
    out = silu(x, out, n);
}
