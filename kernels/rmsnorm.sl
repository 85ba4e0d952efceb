// RMS normalisation, written with loops and with the builtin: out[i] = w[i]·x[i]/rms(x),
// rms(x) = sqrt(Σ x[i]²/n + eps).

fn rmsnorm_loops(f32[] out, f32[] x, f32[] w, i64 n, f32 eps) {
    var ss = 0.0;
    var i = 0;
    while (i < n) {
        ss += x[i] * x[i];
        i = i + 1;
    }
    var r = 1.0 / sqrt(ss / (n as f32) + eps);
    i = 0;
    while (i < n) {
        out[i] = w[i] * (x[i] * r);
        i = i + 1;
    }
}

fn rmsnorm_builtin(f32[] out, f32[] x, f32[] w, i64 n, f32 eps) {
    out = rmsnorm(x, w, out, n, eps);
}
