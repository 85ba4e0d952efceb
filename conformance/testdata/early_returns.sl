// Early returns from nested loops, freeing the local arrays live at each return.
// expect: find_in_grid() = 23
// expect: not_found() = -1
// expect: early_free() = 5.0
// expect: void_return() = 3
// expect: return_frees() = 120000.0
fn find(i64 target) -> i64 {
    var i = 0;
    while (i < 10) {
        var j = 0;
        while (j < 10) {
            if (i * 10 + j == target) {
                return i * 10 + j;
            }
            j = j + 1;
        }
        i = i + 1;
    }
    return -1;
}

fn find_in_grid() -> i64 {
    return find(23);
}

fn not_found() -> i64 {
    return find(1000);
}

fn fill_row(i64 n) -> f32 {
    var tmp = array<f32>([n]);          // sized by a parameter: allocated once at entry
    var i = 0;
    while (i < n) {
        var row = array<f32>([i + 1]);  // sized by the loop: allocated every iteration
        row[i] = i as f32;
        if (i == 5) {
            return row[5] + tmp[0];
        }
        i = i + 1;
    }
    return -1.0;
}

fn early_free() -> f32 {
    return fill_row(10);
}

fn stop_at(i64[] out, i64 n) {
    var i = 0;
    while (1 == 1) {
        if (i >= n) {
            return;
        }
        out[0] = out[0] + 1;
        i = i + 1;
    }
}

fn void_return() -> i64 {
    var out = array<i64>([1]);
    stop_at(out, 3);
    return out[0];
}

fn leave_early(i64 n) -> f32 {
    var i = 0;
    while (i < 10) {
        var big = array<f32>([n + i]);  // sized by the loop: not hoisted
        big[0] = 1.0;
        if (i == 2) {
            return big[0] + big[n + i - 1];
        }
        i = i + 1;
    }
    return 0.0;
}

fn return_frees() -> f32 {
    // 20000 calls that each return while 400 KB arrays are live, allocated per iteration and
    // at entry: without the frees on the return paths this needs 32 GB
    var total = 0.0;
    var k = 0;
    while (k < 20000) {
        total = total + leave_early(100000) + fill_row(100000);
        k = k + 1;
    }
    return total;
}
