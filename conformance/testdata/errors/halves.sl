// error: 8 explicit conversion
// error: 9 narrowing
// error: 10 float array
// error: 11 overflows
fn f(f16[] x, f32[] y) -> i64 {
    f16 h = 1.0;
    f32 s = 2.0;
    h += 1.0;
    f16 k = s;
    softmax(x, x, 4);
    f16 big = 70000.0;
    return 0;
}
