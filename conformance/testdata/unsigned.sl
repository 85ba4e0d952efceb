// Unsigned types (language §2): wrap-around, zero extension, unsigned division, comparison and
// shifts, hex literals, conversions with as, unsigned loop counters, min/max/abs.
// expect: u8_wrap() = 44
// expect: u16_square() = 1
// expect: u32_below_zero() = 4294967295
// expect: u64_max() = 18446744073709551615
// expect: negate_u32() = 4294967295
// expect: zero_extend() = 255
// expect: sign_extend() = -1
// expect: unsigned_widens_to_signed() = 510
// expect: udiv() = 2147483647
// expect: urem() = 1
// expect: u8_div() = 127
// expect: ucmp() = 3
// expect: lshr() = 127
// expect: lshr64() = 1
// expect: ashr() = -64
// expect: ashr64() = -1
// expect: runtime_as() = 44
// expect: u8_as_i8() = -1
// expect: i8_as_u16() = 65535
// expect: u16_as_i64() = 65535
// expect: u64_loop() = 10
// expect: u32_loop() = 4950.0
// expect: u8_loop() = 255
// expect: unsigned_builtins() = 4294967297
// expect: u64_param() = 18446744073709551614
// expect: hex() = 511

fn u8_wrap() -> u8 {
    u8 a = 200;
    return a + 100;
}

// (2^16 - 1)^2 = 2^32 - 2^17 + 1 ≡ 1 (mod 2^16).
fn u16_square() -> u16 {
    u16 a = 0xFFFF;
    return a * a;
}

fn u32_below_zero() -> u32 {
    u32 a = 0;
    return a - 1;
}

fn u64_max() -> u64 {
    return 0xFFFFFFFFFFFFFFFF;
}

fn negate_u32() -> u32 {
    u32 a = 1;
    return -a;
}

fn zero_extend() -> i64 {
    u8 x = 0xFF;
    i64 y = x;
    return y;
}

fn sign_extend() -> i64 {
    i8 x = -1;
    i64 y = x;
    return y;
}

// u8 + i32 is i32; the u8 extends with zeros.
fn unsigned_widens_to_signed() -> i64 {
    u8 a = 255;
    i32 b = 255;
    return a + b;
}

// As signed values these would be -1 / 2 = 0 and -1 % 2 = -1.
fn udiv() -> u32 {
    u32 a = 0xFFFFFFFF;
    return a / 2;
}

fn urem() -> u32 {
    u32 a = 0xFFFFFFFF;
    return a % 2;
}

fn u8_div() -> i64 {
    u8 a = 255;
    u8 b = 2;
    return a / b;
}

// 0xFFFFFFFF > 1 and 0x80000000 >= 0x7FFFFFFF unsigned (both false as signed), 1 < 0xFFFFFFFF.
fn ucmp() -> i64 {
    u32 a = 0xFFFFFFFF;
    u32 b = 0x80000000;
    u32 c = 0x7FFFFFFF;
    var n = 0;
    if (a > 1) {
        n += 1;
    }
    if (b >= c) {
        n += 1;
    }
    if (1 < a) {
        n += 1;
    }
    if (a <= c) {
        n += 100;
    }
    return n;
}

fn lshr() -> u8 {
    u8 a = 0xFF;
    return a >> 1;
}

fn lshr64() -> u64 {
    u64 a = 0xFFFFFFFFFFFFFFFF;
    return a >> 63;
}

fn ashr() -> i8 {
    i8 a = -128;
    return a >> 1;
}

fn ashr64() -> i64 {
    i64 a = -1;
    return a >> 63;
}

// as wraps at run time.
fn runtime_as() -> i64 {
    var x = 300;
    return (x as u8) as i64;
}

fn u8_as_i8() -> i64 {
    u8 x = 255;
    return (x as i8) as i64;
}

// Integer to integer extends by the source's signedness: i8 -1 becomes 0xFFFF.
fn i8_as_u16() -> i64 {
    i8 x = -1;
    return (x as u16) as i64;
}

fn u16_as_i64() -> i64 {
    u16 x = 0xFFFF;
    return x as i64;
}

// A counter near the top of u64: as signed values the loop would not run at all.
fn u64_loop() -> i64 {
    u64 i = 0xFFFFFFFFFFFFFFF0;
    var n = 0;
    while (i < 0xFFFFFFFFFFFFFFFA) {
        n += 1;
        i = i + 1;
    }
    return n;
}

// 0 + 1 + … + 99.
fn u32_loop() -> f32 {
    var a = array<f32>([100]);
    u32 i = 0;
    while (i < 100) {
        a[i] = i;
        i += 1;
    }
    var s = 0.0;
    u32 j = 0;
    while (j < 100) {
        s += a[j];
        j = j + 1;
    }
    return s;
}

// A u8 counter that stops at its largest value.
fn u8_loop() -> i64 {
    u8 i = 0;
    var n = 0;
    while (i < 255) {
        n += 1;
        i += 1;
    }
    return n;
}

// min(0xFFFFFFFF, 1) = 1 and max = 0xFFFFFFFF unsigned; abs leaves unsigned values alone.
// 1 + 0xFFFFFFFF + 0xFFFFFFFF - 0xFFFFFFFF + 1 = 2^32 + 1.
fn unsigned_builtins() -> i64 {
    u32 a = 0xFFFFFFFF;
    u32 b = 1;
    i64 lo = min(a, b);
    i64 hi = max(a, b);
    i64 ab = abs(a);
    return lo + hi + ab - 0xFFFFFFFF + 1;
}

fn dec(u64 x) -> u64 {
    return x - 1;
}

fn u64_param() -> u64 {
    return dec(0xFFFFFFFFFFFFFFFF);
}

fn hex() -> i64 {
    return 0xFF + 0X100;
}
