// Rounding of every conversion (language §2, §2.1, §5). Expected values worked out by hand from
// the formats: f16 has 11 significant bits (spacing 2 in [2048, 4096), 4 in [4096, 8192),
// subnormals are multiples of 2^-24, 65504 is the largest finite value and 65520 the tie
// above it); bf16 has 8 (spacing 2^-7 in [1, 2), 2^17 in [2^24, 2^25)); f32 has 24.
// expect: f64_to_f32_tie_down() = 1.0 ~0
// expect: f64_to_f32_tie_up() = 1.000000238418579 ~0
// expect: f16_tie_up() = 2052.0 ~0
// expect: f16_negative_tie() = -2052.0 ~0
// expect: f16_above_tie_from_f64() = 2050.0 ~0
// expect: f16_subnormal_ties() = 1.1920928955078125e-07 ~0
// expect: f16_largest() = 65504.0 ~0
// expect: f16_overflow() = 1
// expect: f16_as() = 4104.0 ~0
// expect: int_to_f16() = 4296.0 ~0
// expect: bf16_ties() = 2.015625 ~0
// expect: bf16_from_f64_once() = 1.0078125 ~0
// expect: int_to_bf16() = 16908288.0 ~0
// expect: bf16_nan() = 1
// expect: f16_to_bf16() = 1.0078125 ~0
// expect: bf16_to_f16() = 1.0078125 ~0
// expect: half_to_int() = -4
// expect: half_scalars() = 3.5 ~0
// expect: float_to_int_trunc() = -5
// expect: float_to_u8() = 200
// expect: float_to_u32() = 4000000000
// expect: float_to_u64() = 18000000000000000000
// expect: u64_to_f64() = 1.8446744073709552e19 ~0
// expect: u32_to_f32() = 4294967296.0 ~0
// expect: rounding() = 280
// expect: round_half_below() = 0.0 ~0
// expect: round_f64() = -1.0 ~0
// expect: round_int_arg() = 7.0 ~0

// 1 + 2^-24 is the tie between 1 and 1 + 2^-23: even is 1.
fn f64_to_f32_tie_down() -> f64 {
    f64 x = 1.000000059604644775390625;
    return (x as f32) as f64;
}

// 1 + 3·2^-24 is the tie between 1 + 2^-23 (odd) and 1 + 2^-22 (even).
fn f64_to_f32_tie_up() -> f64 {
    f64 x = 1.000000178813934326171875;
    return (x as f32) as f64;
}

// 2051 lies halfway between 2050 (odd) and 2052 (even).
fn f16_tie_up() -> f64 {
    var h = array<f16>([1]);
    h[0] = 2051.0;
    f64 r = h[0];
    return r;
}

fn f16_negative_tie() -> f64 {
    var h = array<f16>([1]);
    f32 x = -2051.0;
    h[0] = x;
    f64 r = h[0];
    return r;
}

// 2049 + 2^-30 is just above the tie 2049: 2050. Rounding to f32 first would land on the tie
// and then on 2048.
fn f16_above_tie_from_f64() -> f64 {
    var h = array<f16>([1]);
    f64 x = 2049.000000000931322574615478515625;
    h[0] = x;
    f64 r = h[0];
    return r;
}

// 2^-25 is the tie between 0 and 2^-24: 0; 3·2^-25 the tie between 2^-24 (odd) and 2^-23.
fn f16_subnormal_ties() -> f64 {
    var h = array<f16>([2]);
    f32 a = 0.0000000298023223876953125;
    f32 b = 0.0000000894069671630859375;
    h[0] = a;
    h[1] = b;
    f64 r = h[0] + h[1];
    return r;
}

// 65519 is below the tie 65520: the largest finite f16.
fn f16_largest() -> f64 {
    var h = array<f16>([1]);
    f32 x = 65519.0;
    h[0] = x;
    f64 r = h[0];
    return r;
}

// 65520 is the tie between 65504 and the first value beyond the format: infinity.
fn f16_overflow() -> i64 {
    var h = array<f16>([1]);
    f32 x = 65520.0;
    h[0] = x;
    f32 big = 1.0e30;
    if (h[0] > big) {
        return 1;
    }
    return 0;
}

// as f16 on a run-time value: 4102 is the tie between 4100 (odd) and 4104 (even).
fn f16_as() -> f64 {
    f32 x = 4102.0;
    f64 r = x as f16;
    return r;
}

// Integers to f16: 4097 → 4096 (below the tie), 4098 → 4096 (tie, even), 4102 → 4104;
// 4096 + 4096 + 4104 - 8000.
fn int_to_f16() -> f64 {
    i32 a = 4097;
    i64 b = 4098;
    u16 c = 4102;
    f64 r = (a as f16) + (b as f16) + (c as f16) - 8000.0;
    return r;
}

// f32 to bf16: 1 + 2^-8 is the tie between 1 and 1 + 2^-7: 1; 1 + 3·2^-8 the tie between
// 1 + 2^-7 (odd) and 1 + 2^-6 (even). Their sum: 2.015625.
fn bf16_ties() -> f64 {
    var b = array<bf16>([2]);
    f32 x = 1.00390625;
    f32 y = 1.01171875;
    b[0] = x;
    b[1] = y;
    f64 r = b[0] + b[1];
    return r;
}

// 1 + 2^-8 + 2^-40 is just above the tie: 1 + 2^-7. Through f32 it would become the tie,
// then 1.
fn bf16_from_f64_once() -> f64 {
    f64 x = 1.0039062500009094947017729282379150390625;
    f64 r = x as bf16;
    return r;
}

// 2^24 + 2^16 + 1 is just above the tie between 2^24 and 2^24 + 2^17.
fn int_to_bf16() -> f64 {
    i32 x = 16842753;
    f64 r = x as bf16;
    return r;
}

fn bf16_nan() -> i64 {
    var b = array<bf16>([1]);
    f32 zero = 0.0;
    b[0] = zero / zero;
    if (b[0] != b[0]) {
        return 1;
    }
    return 0;
}

// f16 1 + 3·2^-9 is 0.75 of a bf16 step above 1: 1 + 2^-7.
fn f16_to_bf16() -> f64 {
    f32 x = 1.005859375;
    var h = x as f16;
    f64 r = h as bf16;
    return r;
}

fn bf16_to_f16() -> f64 {
    f32 x = 1.0078125;
    var b = x as bf16;
    f64 r = b as f16;
    return r;
}

// Half values convert to integers truncating toward zero: -2.5 → -2, 2.75 → 2, -4.5 → -4.
fn half_to_int() -> i64 {
    f32 a = -2.5;
    f32 b = 2.75;
    f32 c = -4.5;
    return (a as f16) as i64 + (b as bf16) as i64 + ((c as f16) as i32) as i64;
}

fn add_halves(f16 a, bf16 b) -> f32 {
    return a + b;
}

fn half_scalars() -> f64 {
    f32 x = 1.25;
    f32 y = 2.25;
    f64 r = add_halves(x as f16, y as bf16);
    return r;
}

fn float_to_int_trunc() -> i64 {
    f64 x = -5.99;
    return x as i64;
}

fn float_to_u8() -> i64 {
    var x = 200.9;
    return (x as u8) as i64;
}

fn float_to_u32() -> i64 {
    f64 x = 4000000000.5;
    return (x as u32) as i64;
}

fn float_to_u64() -> u64 {
    f64 x = 18000000000000000000.0;
    return x as u64;
}

// 2^64 - 1 rounds to 2^64.
fn u64_to_f64() -> f64 {
    u64 x = 0xFFFFFFFFFFFFFFFF;
    f64 r = x;
    return r;
}

fn u32_to_f32() -> f64 {
    u32 x = 0xFFFFFFFF;
    f32 y = x;
    return y as f64;
}

// round halves away from zero; floor and ceil: 300 - 30 - 3 - 2 + 2 + 3 + 10.
fn rounding() -> i64 {
    var a = round(2.5);   // 3
    var b = round(-2.5);  // -3
    var c = floor(-2.5);  // -3
    var d = ceil(-2.5);   // -2
    var e = floor(2.0);   // 2
    var f = ceil(2.1);    // 3
    var g = round(10.4);  // 10
    return (a * 100.0 + b * 10.0 + c + d + e + f + g) as i64;
}

// The f32 just below 0.5 rounds to 0 (floor(x + 0.5) would give 1).
fn round_half_below() -> f64 {
    f32 x = 0.49999997;
    return round(x) as f64;
}

fn round_f64() -> f64 {
    f64 x = -0.5;
    return round(x);
}

fn round_int_arg() -> f64 {
    var n = 7;
    return round(n) as f64;
}
