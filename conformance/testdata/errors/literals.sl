// error: 5:12 too big
// error: 6:13 too big
// error: 7:13 overflows
fn f() -> i64 {
    u8 a = 0x100;
    var b = 0xFFFFFFFFFFFFFFFF;
    var c = 1 << 63;
    u64 d = 0xFFFFFFFFFFFFFFFF;
    return 0;
}
