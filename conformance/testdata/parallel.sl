// Loops that run in parallel (unless Options.Serial) must give the serial results.
// expect: matvec_check() = 1507372.5
// expect: matmul_check() = 307.5
// expect: captured_types() = 1337.5
// expect: step_inclusive() = 17128
// expect: jammed_rows() = 6318879
// expect: jammed_strided() = -1654333597
fn matvec(f32[] w, f32[] x, f32[] out, i64 n, i64 d) {
    var i = 0;
    while (i < d) {
        var s = 0.0;
        var j = 0;
        while (j < n) {
            s += w[i * n + j] * x[j];
            j = j + 1;
        }
        out[i] = s;
        i = i + 1;
    }
}

fn matvec_check() -> f64 {
    var n = 300;
    var d = 200;
    var w = array<f32>([d * n]);
    var x = array<f32>([n]);
    var out = array<f32>([d]);
    var k = 0;
    while (k < d * n) {
        w[k] = (k % 7) as f32 * 0.5 - 1.0;
        k = k + 1;
    }
    var j = 0;
    while (j < n) {
        x[j] = (j % 5) as f32 * 0.25;
        j = j + 1;
    }
    matvec(w, x, out, n, d);
    f64 acc = 0.0;
    var i = 0;
    while (i < d) {
        acc = acc + out[i] * (i + 1);
        i = i + 1;
    }
    return acc;
}

fn matmul_check() -> f64 {
    var m = 13;
    var k = 17;
    var n = 11;
    var a = array<f32>([3 + m * k]);
    var b = array<f32>([5 + k * n]);
    var c = array<f32>([2 + m * n]);
    var q = 0;
    while (q < 3 + m * k) {
        a[q] = (q % 9) as f32 * 0.25 - 1.0;
        q = q + 1;
    }
    q = 0;
    while (q < 5 + k * n) {
        b[q] = (q % 4) as f32 * 0.5;
        q = q + 1;
    }
    q = 0;
    while (q < 2 + m * n) {
        c[q] = 1.0;
        q = q + 1;
    }
    matmul(a, b, c, m, k, n, 3, 5, 2);
    f64 acc = 0.0;
    q = 0;
    while (q < 2 + m * n) {
        acc = acc + c[q] * ((q % 3) + 1);
        q = q + 1;
    }
    return acc;
}

// every scalar kind crosses into the parallel region
fn fill_types(f64[] out, i64 d, f32 a, i32 b, bool yes, i8 e, f64 f, i16 h) {
    var i = 0;
    while (i < d) {
        f64 s = 0.0;
        var j = 0;
        while (j < 3) {
            s = s + a + b + f + e + h;
            j = j + 1;
        }
        if (yes) {
            out[i] = s + i;
        } else {
            out[i] = -1.0;
        }
        i = i + 1;
    }
}

fn captured_types() -> f64 {
    var out = array<f64>([50]);
    i8 e = -3;
    i16 h = 0;
    fill_types(out, 50, 1.5, 2, 1 > 0, e, 0.25, h);
    f64 acc = 0.0;
    var i = 0;
    while (i < 50) {
        acc = acc + out[i];
        i = i + 1;
    }
    return acc;
}

// a step of 2, an inclusive bound, and the induction variable's value after the loop
fn step_inclusive() -> i64 {
    var a = array<i64>([20]);
    var i = 1;
    while (i <= 15) {
        var j = 0;
        while (j < 2) {
            a[i] = a[i] + i;
            j += 1;
        }
        i = i + 2;
    }
    var sum = 0;
    var k = 0;
    while (k < 20) {
        sum = sum + a[k];
        k = k + 1;
    }
    return sum + i * 1000;
}

// rows long enough to run 8 at a time (unroll-and-jam, 203 = 25·8 + 3 rows): two sums per
// row, a branch, a step of 2 up to an inclusive bound, and the inner variable's final value
fn row_sums(i64[] out, i64[] w, i64 rows, i64 cols) {
    var i = 0;
    while (i < rows) {
        var row = i * cols;
        var even = 0;
        var odd = 0;
        var j = 0;
        while (j <= cols - 2) {
            even = even + w[row + j];
            if (w[row + j + 1] > 0) {
                odd = odd + w[row + j + 1];
            }
            j = j + 2;
        }
        out[i] = even * 3 + odd + j;
        i = i + 1;
    }
}

fn jammed_rows() -> i64 {
    var rows = 203;
    var cols = 6200;
    var w = array<i64>([rows * cols]);
    var out = array<i64>([rows]);
    var k = 0;
    while (k < rows * cols) {
        w[k] = k % 11 - 5;
        k = k + 1;
    }
    row_sums(out, w, rows, cols);
    var acc = 0;
    var i = 0;
    while (i < rows) {
        acc = acc + out[i] * (i % 5 + 1);
        i = i + 1;
    }
    return acc;
}

// jammed rows with i32 counters, a step of 3 from 1 up to an inclusive bound (134 rows: 16
// blocks of 8 and 6 left over), and the outer variable's value after the loop
fn strided_rows(i64[] out, i32[] w, i32 rows, i32 cols) -> i32 {
    i32 i = 1;
    while (i <= rows) {
        i64 s = 0;
        i32 j = 0;
        while (j < cols) {
            s = s + w[i * cols + j] * (j % 5);
            j = j + 1;
        }
        out[i] = s - j;
        i = i + 3;
    }
    return i;
}

fn jammed_strided() -> i64 {
    i32 rows = 400;
    i32 cols = 3100;
    var w = array<i32>([(rows + 1) * cols]);
    var out = array<i64>([rows + 1]);
    var k = 0;
    while (k < (rows + 1) * cols) {
        w[k] = (k % 7 - 3) as i32;
        k = k + 1;
    }
    var last = strided_rows(out, w, rows, cols);
    var acc = 0;
    k = 0;
    while (k <= rows) {
        acc = acc + out[k] * (k % 7 + 1);
        k = k + 1;
    }
    return acc * 1000 + last;
}
