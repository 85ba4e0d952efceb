// Arithmetic in every scalar type: wrapping, truncating division, conversions, bool logic.
// expect: i8_wrap() = -56
// expect: i16_wrap() = -5536
// expect: i32_wrap() = -294967296
// expect: i32_div() = -3
// expect: i32_rem() = -1
// expect: narrow_cast() = 44
// expect: float_to_int() = -2
// expect: f64_third() = 0.333333333333333315 ~1e-15
// expect: f64_to_f32() = 0.333333343
// expect: float_rem() = 1.5
// expect: bools() = 6
// expect: bool_array() = 1
// expect: int_builtins() = 12
// expect: f64_builtins() = 3.0 ~1e-12
// expect: neg_zero() = -1
// expect: i8_elements() = -126
fn i8_wrap() -> i8 {
    i8 a = 100;
    return a + a;
}

fn i16_wrap() -> i16 {
    i16 a = 30000;
    return a + a;
}

fn i32_wrap() -> i32 {
    i32 a = 2000000000;
    return a + a;
}

fn i32_div() -> i32 {
    i32 a = -7;
    return a / 2;
}

fn i32_rem() -> i32 {
    i32 a = -7;
    return a % 2;
}

fn narrow_cast() -> i64 {
    var x = 300;
    return (x as i8) as i64;
}

fn float_to_int() -> i32 {
    var x = -2.7;
    return x as i32;
}

fn f64_third() -> f64 {
    f64 one = 1.0;
    return one / 3.0;
}

fn f64_to_f32() -> f32 {
    f64 one = 1.0;
    return (one / 3.0) as f32;
}

fn float_rem() -> f32 {
    var x = 7.5;
    return x % 2.0;
}

fn bools() -> i64 {
    var t = 3 > 2;
    var f = !t;
    var n = 0;
    if (t && !f) {
        n = n + 1;
    }
    if (t == f) {
        n = n + 100;
    }
    if (t != f) {
        n = n + 2;
    }
    if (f || t) {
        n = n + 3;
    }
    return n;
}

fn bool_array() -> i64 {
    var flags = array<bool>([4]);
    flags[1] = 3 > 2;
    if (flags[1] && !flags[0]) {
        return 1;
    }
    return 0;
}

fn int_builtins() -> i64 {
    // max(3, 7) + min(3, 7) + abs(-2) = 12
    return max(3, 7) + min(3, 7) + abs(-2);
}

fn f64_builtins() -> f64 {
    f64 x = 9.0;
    f64 y = -1.0;
    // sqrt(9) + abs(-1) + max(-1, 0) - min(-1, 0) - exp(0) = 3 + 1 + 0 + 1 - 1 - 1 (log(1) = 0)
    return sqrt(x) + abs(y) + max(y, 0.0) - min(y, 0.0) - exp(0.0 * x) - 1.0 + log(x / x);
}

fn neg_zero() -> i64 {
    var z = -0.0;
    if (1.0 / z < 0.0) {
        return -1;
    }
    return 1;
}

fn i8_elements() -> i64 {
    var a = array<i8>([3]);
    a[0] = 100;
    a[1] = 30;
    a[2] = a[0] + a[1];     // 130 wraps to -126
    return a[2];
}
