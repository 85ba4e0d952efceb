// Kernels for checks_test.go (checked array access, language §4.1). Each one reads or
// writes out of range when a caller passes arrays shorter than its counts. This folder is
// not part of the corpus: these programs are meant to fail their checks.

// Straight code.
fn store1(f32[] a, i64 k, f32 v) {
    a[k] = v;
}

fn load1(f32[] a, f32[] out, i64 k) {
    out[0] = a[k] + 1.0;
}

// Counted loops, whose accesses are affine in the counter (the versioned loops).
fn copy_plus(f32[] a, f32[] out, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] = a[i] + 1.0;
        i = i + 1;
    }
}

fn window(f32[] a, f32[] out, i64 lo, i64 hi) {
    var i = lo;
    while (i < hi) {
        out[i - lo] = a[i] * 2.0;
        i = i + 1;
    }
}

fn strided(f32[] a, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < n) {
        s += a[i];
        i = i + 3;
    }
    return s;
}

fn reverse(f32[] a, f32[] out, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] = a[n - 1 - i];
        i = i + 1;
    }
}

fn shifted(f32[] a, i64 off, i64 n) {
    var i = 0;
    while (i < n) {
        a[i + off] = 7.0;
        i = i + 1;
    }
}

fn dot(f32[] a, f32[] b, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < n) {
        s += a[i] * b[i];
        i = i + 1;
    }
    return s;
}

// A counted loop whose access is not affine: checked at each access.
fn gather(f32[] a, i64[] idx, f32[] out, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] = a[idx[i]];
        i = i + 1;
    }
}

// Parallel (rows·cols ≥ loops.ParallelWork) and jammed (cols ≥ loops.JamMinInnerTrips,
// rows ≥ loops.JamMinTrips) loops.
fn matvec(f32[] out, f32[] w, f32[] x, i64 rows, i64 cols) {
    var i = 0;
    while (i < rows) {
        var s = 0.0;
        var j = 0;
        while (j < cols) {
            s += w[i * cols + j] * x[j];
            j = j + 1;
        }
        out[i] = s;
        i = i + 1;
    }
}

// Local arrays: one r×c grid written at [i, j], then copied out; a 1-D one.
fn grid_store(f32[] out, i64 r, i64 c, i64 i, i64 j, f32 v) {
    var g = array<f32>([r, c]);
    g[i, j] = v;
    var p = 0;
    while (p < r) {
        var q = 0;
        while (q < c) {
            out[p * c + q] = g[p, q];
            q = q + 1;
        }
        p = p + 1;
    }
}

fn grid_load(f32[] out, i64 r, i64 c, i64 i, i64 j) {
    var g = array<f32>([r, c]);
    var p = 0;
    while (p < r) {
        var q = 0;
        while (q < c) {
            g[p, q] = 1.0;
            q = q + 1;
        }
        p = p + 1;
    }
    out[0] = g[i, j] + 2.0;
}

fn grid_fill(f32[] out, i64 r, i64 c, i64 rows, i64 cols) {
    var g = array<f32>([r, c]);
    var p = 0;
    while (p < rows) {
        var q = 0;
        while (q < cols) {
            g[p, q] = 1.0;
            q = q + 1;
        }
        p = p + 1;
    }
    out[0] = g[r - 1, c - 1];
}

fn local1(f32[] out, i64 m, i64 n) {
    var t = array<f32>([m]);
    var i = 0;
    while (i < n) {
        t[i] = 3.0;
        i = i + 1;
    }
    out[0] = t[m - 1];
}

// Builtins with n larger than their arrays.
fn norm(f32[] x, f32[] w, f32[] out, i64 n) {
    rmsnorm(x, w, out, n, 0.00001);
}

fn soft(f32[] x, f32[] out, i64 n) {
    softmax(x, out, n);
}

fn act(f32[] x, f32[] out, i64 n) {
    silu(x, out, n);
}

fn mm(f32[] a, f32[] b, f32[] c, i64 m, i64 k, i64 n) {
    matmul(a, b, c, m, k, n);
}

// Integer division.
fn quot(i64 a, i64 b) -> i64 {
    return a / b;
}

fn rem32(i32 a, i32 b) -> i32 {
    return a % b;
}

fn quot8(i8 a, i8 b) -> i8 {
    return a / b;
}

fn divide_all(i64[] a, i64[] d, i64[] out, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] = a[i] / d[i];
        i = i + 1;
    }
}

// Other element kinds and index types.
// group_sums: out[G] = the sum of a's group G of gs, for the n / gs whole groups. The bound's
// division is checked (gs = 0 reports and gives no groups), and the loop still runs on
// threads.
fn group_sums(i64[] out, i64[] a, i64 n, i64 gs) {
    var G = 0;
    while (G < n / gs) {
        var s = 0;
        var r = 0;
        while (r < gs) {
            s += a[G * gs + r];
            r = r + 1;
        }
        out[G] = s;
        G = G + 1;
    }
}

fn kinds(i8[] a, bool[] b, f64[] c, i16[] d, i64 n) {
    var i = 0;
    while (i < n) {
        a[i] = 7 as i8;
        b[i] = 1 == 1;
        c[i] = 7.0 as f64;
        d[i] = 7 as i16;
        i = i + 1;
    }
}

fn copy32(f32[] a, f32[] out, i32 n) {
    i32 i = 0;
    while (i < n) {
        out[i] = a[i];
        i = i + 1;
    }
}

fn store8(f32[] a, i8 k) {
    a[k] = 1.0;
}

// A compound division of an element; a loop counting down (not a counted loop); a
// conditional store whose index is not affine.
fn divide_by(i64[] a, i64 d, i64 n) {
    var i = 0;
    while (i < n) {
        a[i] /= d;
        i = i + 1;
    }
}

fn countdown(f32[] a, i64 n) {
    var i = n - 1;
    while (i >= 0) {
        a[i] = 1.0;
        i = i - 1;
    }
}

fn compact(f32[] a, f32[] out, i64 n) -> i64 {
    var k = 0;
    var i = 0;
    while (i < n) {
        if (a[i] > 0.0) {
            out[k] = a[i];
            k = k + 1;
        }
        i = i + 1;
    }
    return k;
}

fn quot_assign(i64 a, i64 b) -> i64 {
    a /= b;
    return a;
}

// A failure in a function another one calls; a division by zero in a parallel loop; a
// builtin's offset.
fn outer(f32[] a, i64 k) {
    store1(a, k, 2.0);
}

// The rows run in parallel and call a function with a check; row i divides by d[i]. A
// failure on another thread reaches the call through that thread's redirect.
fn quotient(i64 a, i64 b) -> i64 {
    return a / b;
}

fn divide_rows_by_call(i64[] out, i64[] a, i64[] d, i64 rows, i64 cols) {
    var i = 0;
    while (i < rows) {
        var s = 0;
        var j = 0;
        while (j < cols) {
            s += quotient(a[i * cols + j], d[i]);
            j = j + 1;
        }
        out[i] = s;
        i = i + 1;
    }
}

fn divide_rows(i64[] out, i64[] a, i64[] d, i64 rows, i64 cols) {
    var i = 0;
    while (i < rows) {
        var s = 0;
        var j = 0;
        while (j < cols) {
            s += a[i * cols + j] / d[j];
            j = j + 1;
        }
        out[i] = s;
        i = i + 1;
    }
}

fn soft_at(f32[] x, f32[] out, i64 n, i64 off) {
    softmax(x, out, n, off, 0);
}

// Reads in loop conditions: unguarded, and guarded by && (never out of range).
fn scan(f32[] a) -> i64 {
    var i = 0;
    while (a[i] > 0.0) {
        i = i + 1;
    }
    return i;
}

fn scan_to(f32[] a, i64 n) -> i64 {
    var i = 0;
    while (i < n && a[i] > 0.0) {
        i = i + 1;
    }
    return i;
}

// Rows of two matrices in one parallel loop, as the LLaMA kernels' fused projections: the
// ifs bound the counter, so one test before the loop covers both branches' accesses.
fn split_rows(f32[] out1, f32[] w1, i64 rows1, f32[] out2, f32[] w2, i64 rows2, f32[] x, i64 cols) {
    var i = 0;
    while (i < rows1 + rows2) {
        var s = 0.0;
        var j = 0;
        if (i < rows1) {
            var row = i * cols;
            while (j < cols) {
                s += w1[row + j] * x[j];
                j = j + 1;
            }
            out1[i] = s;
        } else {
            var row = (i - rows1) * cols;
            while (j < cols) {
                s += w2[row + j] * x[j];
                j = j + 1;
            }
            out2[i - rows1] = s;
        }
        i = i + 1;
    }
}

// Three bands of a copy, bounded every way an if can bound a counter.
fn bands(f32[] a, f32[] lo_out, f32[] mid_out, f32[] hi_out, i64 n, i64 lo, i64 hi) {
    var i = 0;
    while (i < n) {
        if (lo > i) {
            lo_out[i] = a[i];
        } else if (i >= hi) {
            hi_out[i - hi] = a[i];
        } else if (i >= lo && i < hi) {
            mid_out[i - lo] = a[i];
        }
        i = i + 1;
    }
}

// Groups of a row, each scaled, as the quantized mat-vecs: three nested counted loops.
fn grouped(f32[] out, f32[] w, f32[] scale, f32[] x, i64 rows, i64 groups, i64 gs) {
    var i = 0;
    while (i < rows) {
        var s = 0.0;
        var g = 0;
        while (g < groups) {
            var part = 0.0;
            var j = 0;
            while (j < gs) {
                part += w[(i * groups + g) * gs + j] * x[g * gs + j];
                j = j + 1;
            }
            s += part * scale[i * groups + g];
            g = g + 1;
        }
        out[i] = s;
        i = i + 1;
    }
}

// An index taken from an inner loop's counter before that loop resets it: it stays `first`
// all through the loop, which the counter's range does not cover.
fn stale(f32[] x, i64 first, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < 2) {
        var j = first;
        var k = j;
        j = 0;
        while (j < n) {
            s += x[k] + x[j];
            j = j + 1;
        }
        i = i + 1;
    }
    return s;
}

// An inner loop whose counter is set once, before the loop around it: from the second pass
// on, it starts where the first left it (here moved back by `back`), not from 0.
fn leftover(f32[] a, i64 n, i64 back) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < 2) {
        var j = 0;
        var g = 0;
        while (g < 2) {
            while (j < n) {
                s += a[j];
                j = j + 1;
            }
            j = j - back;
            g = g + 1;
        }
        i = i + 1;
    }
    return s;
}
