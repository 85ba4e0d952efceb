// error: 9 operator &
// error: 10 shift
// error: 11 &&
// error: 12 ~
// error: 13 |
// error: 14 !
fn f() -> i64 {
    var x = 1.5;
    var a = x & 1;
    var b = x << 2;
    var c = (1 < 2) & (2 < 3);
    var d = ~2.0;
    var e = x | x;
    var g = ~(1 < 2);
    return 0;
}
