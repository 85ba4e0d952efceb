// Half-precision values in variables carried by loops and branches, as parameters and
// results, and bf16 weights in a mat-vec big enough to run in parallel and jammed. Expected
// values computed with Go's package half (each step rounded as the kernel does).
// expect: f16_loop() = 4.0 ~0
// expect: bf16_products() = 17.578125 ~0
// expect: through_calls() = 2.609375 ~0
// expect: matvec_bf16() = 0.0 ~1e-3

// h = (h + 0.1) as f16 ten times ends at 1.0; then 1.0 > 0.5 takes b = 3.
fn f16_loop() -> f32 {
    f16 h = 0.0;
    var i = 0;
    while (i < 10) {
        h = (h + 0.1) as f16;
        i += 1;
    }
    bf16 b = 1.0;
    if (h > 0.5) {
        b = (b * 3.0) as bf16;
    } else {
        b = (b * 5.0) as bf16;
    }
    return h + b;
}

// b = (b * 1.1) as bf16 ten times (2.609375 at the end), summing every b.
fn bf16_products() -> f32 {
    bf16 b = 1.0;
    f32 s = 0.0;
    var i = 0;
    while (i < 10) {
        b = (b * 1.1) as bf16;
        s += b;
        i += 1;
    }
    return s;
}

fn grow(bf16 b) -> bf16 {
    return (b * 1.1) as bf16;
}

fn through_calls() -> f32 {
    var b = 1.0 as bf16;
    var i = 0;
    while (i < 10) {
        b = grow(b);
        i += 1;
    }
    return b;
}

// The same mat-vec over bf16 weights and over their f32 widening: the largest difference.
fn matvec_bf16() -> f32 {
    var rows = 160;
    var cols = 4096;
    var w = array<bf16>([rows * cols]);
    var w32 = array<f32>([rows * cols]);
    var x = array<f32>([cols]);
    var i = 0;
    while (i < rows * cols) {
        w[i] = ((i * 7919) % 1000) as f32 * 0.001 - 0.5;
        w32[i] = w[i];
        i += 1;
    }
    var j = 0;
    while (j < cols) {
        x[j] = (j % 13) as f32 * 0.1;
        j += 1;
    }
    var out = array<f32>([rows]);
    var out32 = array<f32>([rows]);
    var r = 0;
    while (r < rows) {
        var s = 0.0;
        var k = 0;
        while (k < cols) {
            s += w[r * cols + k] * x[k];
            k += 1;
        }
        out[r] = s;
        r += 1;
    }
    r = 0;
    while (r < rows) {
        var s = 0.0;
        var k = 0;
        while (k < cols) {
            s += w32[r * cols + k] * x[k];
            k += 1;
        }
        out32[r] = s;
        r += 1;
    }
    var worst = 0.0;
    r = 0;
    while (r < rows) {
        worst = max(worst, abs(out[r] - out32[r]));
        r += 1;
    }
    return worst;
}
