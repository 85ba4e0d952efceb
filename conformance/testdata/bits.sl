// Bit operations (language §4): C's precedence, shifts, compound assignments, constant folding.
// expect: precedence_bits() = 3
// expect: precedence_folded() = 3
// expect: shift_below_add() = 32
// expect: shift_above_compare() = 1
// expect: and_below_shift() = 11
// expect: not_binds_tightest() = 240
// expect: minus_then_shift() = -4
// expect: xor_or() = 7
// expect: compound() = 3
// expect: element_compound() = 30
// expect: i8_shift_wraps() = -128
// expect: counts_masked() = 0
// expect: fold_shifts() = -4
// expect: u64_from_shift() = 2
// expect: unpack() = 91
// expect: bitwise_types() = 65280
// expect: masks() = 57092

// & before ^ before |: 1 | (2 ^ (3 & 4)) = 3, where left to right would give 0.
fn precedence_bits() -> i64 {
    var a = 1;
    var b = 2;
    var c = 3;
    var d = 4;
    return a | b ^ c & d;
}

fn precedence_folded() -> i64 {
    return 1 | 2 ^ 3 & 4;
}

// + before <<: 1 << (2 + 3).
fn shift_below_add() -> i64 {
    var one = 1;
    var two = 2;
    return one << two + 3;
}

// << and >> before <: (8 >> 1) < 5.
fn shift_above_compare() -> i64 {
    var x = 8;
    if (x >> 1 < 5) {
        return 1;
    }
    return 0;
}

// >> before &: 0xAB & (0xF0 >> 4) = 0x0B.
fn and_below_shift() -> i64 {
    var x = 0xAB;
    return x & 0xF0 >> 4;
}

// ~ binds tighter than &: (~0x0F) & 0xFF = 0xF0.
fn not_binds_tightest() -> i64 {
    var x = 0x0F;
    return ~x & 0xFF;
}

// (-7) >> 1 is -4: unary minus first, then an arithmetic shift.
fn minus_then_shift() -> i64 {
    var x = 7;
    return -x >> 1;
}

// (5 ^ 3) | 1 = 6 | 1 = 7.
fn xor_or() -> i64 {
    var a = 5;
    var b = 3;
    return a ^ b | 1;
}

// 0xF0 |= 0x0F → 0xFF; &= 0x3C → 0x3C; ^= 0xFF → 0xC3; <<= 4 → 0xC30; >>= 2 → 780; %= 7 → 3.
fn compound() -> i64 {
    var x = 0xF0;
    x |= 0x0F;
    x &= 0x3C;
    x ^= 0xFF;
    x <<= 4;
    x >>= 2;
    x %= 7;
    return x;
}

// On a u8 element: 0xF0 >> 4 = 0x0F; | 0x80 = 0x8F; << 1 = 0x11E, which the u8 keeps as 0x1E.
fn element_compound() -> i64 {
    var p = array<u8>([1]);
    p[0] = 0xF0;
    p[0] >>= 4;
    p[0] |= 0x80;
    p[0] <<= 1;
    return p[0];
}

fn i8_shift_wraps() -> i8 {
    i8 x = 64;
    return x << 1;
}

// A run-time count beyond the width gives some value, the same one each time: never poison.
fn counts_masked() -> i64 {
    var x = 1;
    var n = 70;
    u8 y = 3;
    i32 m = -1;
    return ((x << n) ^ (x << n)) + ((y >> m) ^ (y >> m)) as i64;
}

// Untyped constants fold exactly: -16 >> 2 = -4 (arithmetic).
fn fold_shifts() -> i64 {
    return -16 >> 2;
}

// 1 << 63 is beyond i64 but fits u64.
fn u64_from_shift() -> u64 {
    u64 top = 1 << 63;
    return top >> 62;
}

// Nibbles of 0x5B: low 11, high 5; 11 + 5·16 = 91.
fn unpack() -> i64 {
    var p = array<u8>([1]);
    p[0] = 0x5B;
    var lo = p[0] & 15;
    var hi = (p[0] >> 4) & 15;
    return (lo + hi * 16) as i64;
}

// u16 & i64 is i64 (the u16 zero-extends): 0xFF00 & 0xFFFFFFFFFFFFFF00.
fn bitwise_types() -> i64 {
    u16 a = 0xFF00;
    i64 b = -256;
    return a & b;
}

// As corpus2's masks, with typed operands: 0xDE00 + (0xDE ^ 0x5A) + 0x80.
fn masks() -> i64 {
    u32 v = 0xDEAD;
    u32 r = (v & 0xFF00) + ((v >> 8) ^ 0x5A) + (1 << 7);
    return r;
}
