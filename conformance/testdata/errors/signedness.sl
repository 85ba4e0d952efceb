// error: 10 as
// error: 11 signed
// error: 12 as
// error: 13 signed
// error: 14 as
// error: 15 overflows
fn f() -> i64 {
    u32 a = 1;
    i32 b = 2;
    var c = a + b;
    var d = a < b;
    u32 e = b;
    var g = min(a, b);
    a += b;
    u8 h = -1;
    return 0;
}
