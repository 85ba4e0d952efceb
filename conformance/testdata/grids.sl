// Local arrays of rank 2 and 3, aliases that keep their dimensions, a local array per loop
// iteration.
// expect: grid3() = 23
// expect: alias_dims() = 12.0
// expect: grid_builtin() = 0.5
// expect: churn() = 100000.0
fn grid3() -> i32 {
    var g = array<i32>([2, 3, 4]);
    var i = 0;
    while (i < 2) {
        var j = 0;
        while (j < 3) {
            var k = 0;
            while (k < 4) {
                g[i, j, k] = (i * 12 + j * 4 + k) as i32;
                k = k + 1;
            }
            j = j + 1;
        }
        i = i + 1;
    }
    return g[1, 2, 3];
}

fn alias_dims() -> f64 {
    var g = array<f64>([3, 4]);
    var h = g;              // h shares g's memory and dimensions
    h[2, 3] = 12.0;
    return g[2, 3];
}

fn grid_builtin() -> f32 {
    var x = array<f32>([2, 2]);
    var p = array<f32>([2, 2]);
    p = softmax(x, p, 4);
    return p[1, 0] + p[0, 1];
}

fn churn() -> f32 {
    // 100000 arrays of 100000 floats, each freed when its iteration ends
    var total = 0.0;
    var n = 100000;
    var i = 0;
    while (i < 100000) {
        var tmp = array<f32>([n]);
        tmp[i % n] = 1.0;
        total = total + tmp[i % n] + tmp[(i + 1) % n];
        i = i + 1;
    }
    return total;
}
