// error: 8:12 too big
// error: 9:13 too big
// error: 10:13 overflows
// error: 11:13 overflows i8
// error: 12:13 overflows u8
// error: 13:13 too big for u16
fn f() -> i64 {
    u8 a = 0x100;
    var b = 0xFFFFFFFFFFFFFFFF;
    var c = 1 << 63;
    var d = 300 as i8;
    var e = -1 as u8;
    var g = 0x1FFFF as u16;
    u64 h = 0xFFFFFFFFFFFFFFFF;
    return 0;
}
