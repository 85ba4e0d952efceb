// The GEMM kernels cmd/gemm times: C (m×n) += A (m×k) · B, row-major f32.

// gemm_nn: B is k×n, the plain loops with j innermost (contiguous in B and C).
fn gemm_nn(f32[] a, f32[] b, f32[] c, i64 m, i64 k, i64 n) {
    var i = 0;
    while (i < m) {
        var p = 0;
        while (p < k) {
            var j = 0;
            while (j < n) {
                c[i * n + j] += a[i * k + p] * b[p * n + j];
                j = j + 1;
            }
            p = p + 1;
        }
        i = i + 1;
    }
}

// gemm_nt: B is n×k (B transposed, the [out][in] layout of weights); p innermost.
fn gemm_nt(f32[] a, f32[] b, f32[] c, i64 m, i64 k, i64 n) {
    var i = 0;
    while (i < m) {
        var j = 0;
        while (j < n) {
            var p = 0;
            while (p < k) {
                c[i * n + j] += a[i * k + p] * b[j * k + p];
                p = p + 1;
            }
            j = j + 1;
        }
        i = i + 1;
    }
}

// gemm_builtin: the matmul builtin (B is k×n).
fn gemm_builtin(f32[] a, f32[] b, f32[] c, i64 m, i64 k, i64 n) {
    c = matmul(a, b, c, m, k, n);
}
