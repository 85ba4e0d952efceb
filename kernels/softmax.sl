// Softmax, numerically stable (the maximum is subtracted first), written with loops and with
// the builtin: out[i] = exp(x[i] − m) / Σ_j exp(x[j] − m), m = max x.

fn softmax_loops(f32[] out, f32[] x, i64 n) {
    var m = x[0];
    var i = 1;
    while (i < n) {
        m = max(m, x[i]);
        i = i + 1;
    }
    var sum = 0.0;
    i = 0;
    while (i < n) {
        out[i] = exp(x[i] - m);
        sum += out[i];
        i = i + 1;
    }
    i = 0;
    while (i < n) {
        out[i] = out[i] / sum;
        i = i + 1;
    }
}

fn softmax_builtin(f32[] out, f32[] x, i64 n) {
    out = softmax(x, out, n);
}
