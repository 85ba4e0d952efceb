// error: 5:13 out of range
// error: 6:13 malformed
// error: 7:13 malformed
fn f() -> i64 {
    var d = 0x10000000000000000;
    var e = 0xG1;
    var g = 0x;
    return 0;
}
