// error: 7:18 out of range
// error: 8:18 out of range
// error: 9:18 out of range
// error: 10:11 out of range
fn f() -> i64 {
    u8 x = 1;
    var a = x << 8;
    var b = x >> -1;
    var c = 1 << 64;
    x <<= 9;
    return 0;
}
