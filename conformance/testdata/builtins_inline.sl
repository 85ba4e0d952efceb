// Array builtins inside expressions: the lowering turns them into loops that run where the
// expression is evaluated, in source order, and only when it is evaluated. Expected values
// were computed separately, in Go.
// expect: in_condition() = 2
// expect: in_and() = 11.731058597564697
// expect: order() = 20.5
// expect: nested() = 6.195078432559967
// expect: alias() = 7.0
// expect: big_matmul() = 12604285.0

// softmax runs each time the loop condition is evaluated.
fn in_condition() -> i64 {
    var a = array<f32>([2]);
    var n = 0;
    while (softmax(a, a, 2)[0] < 0.8) {
        a[0] = a[0] + 1.0;
        n = n + 1;
    }
    return n;
}

// silu runs only where && evaluates its right side.
fn in_and() -> f64 {
    var a = array<f32>([3]);
    a[0] = 1.0;
    a[1] = 2.0;
    a[2] = 3.0;
    f64 calls = 0.0;
    if (a[0] > 5.0 && silu(a, a, 3)[0] > 0.0) {
        calls = 1.0;
    }
    f64 s1 = a[0];
    if (a[0] < 5.0 && silu(a, a, 3)[0] > 0.0) {
        calls = calls + 10.0;
    }
    return s1 + calls + a[0];
}

fn pair(f32 x, f32 y) -> f32 {
    return x * 10.0 + y;
}

// the first argument reads a[0] before softmax rewrites a
fn order() -> f32 {
    var a = array<f32>([2]);
    a[0] = 2.0;
    a[1] = 2.0;
    return pair(a[0], softmax(a, a, 2)[1]);
}

// a builtin's result as another's argument
fn nested() -> f64 {
    var a = array<f32>([4]);
    var t = array<f32>([4]);
    var w = array<f32>([4]);
    var out = array<f32>([4]);
    a[0] = 0.5;
    a[1] = -1.0;
    a[2] = 2.0;
    a[3] = 0.25;
    var i = 0;
    while (i < 4) {
        w[i] = (i + 1) as f32;
        i = i + 1;
    }
    var r = rmsnorm(silu(a, t, 4), w, out, 4, 0.00001);
    f64 sum = 0.0;
    i = 0;
    while (i < 4) {
        sum = sum + r[i];
        i = i + 1;
    }
    return sum;
}

// a variable declared from a builtin refers to its output array
fn alias() -> f32 {
    var a = array<f32>([2]);
    var b = array<f32>([2]);
    var y = softmax(a, b, 2);
    y[0] = 7.0;
    return b[0];
}

// matmul rows run in parallel once the work is large enough (300 × 300 ≥ loops.ParallelWork)
fn big_matmul() -> f64 {
    var m = 300;
    var k = 5;
    var n = 300;
    var a = array<f32>([m * k]);
    var b = array<f32>([k * n]);
    var c = array<f32>([m * n]);
    var i = 0;
    while (i < m) {
        var p = 0;
        while (p < k) {
            a[i * k + p] = ((i + 2 * p) % 7) as f32;
            p = p + 1;
        }
        i = i + 1;
    }
    var q = 0;
    while (q < k * n) {
        b[q] = (((q / n) * (q % n) + 1) % 5) as f32;
        q = q + 1;
    }
    q = 0;
    while (q < m * n) {
        c[q] = 1.0;
        q = q + 1;
    }
    matmul(a, b, c, m, k, n);
    f64 chk = 0.0;
    i = 0;
    while (i < m) {
        var j = 0;
        while (j < n) {
            chk = chk + c[i * n + j] * ((i * 3 + j) % 11);
            j = j + 1;
        }
        i = i + 1;
    }
    return chk;
}
