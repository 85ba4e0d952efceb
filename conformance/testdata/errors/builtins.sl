// error: 5 round takes 1
// error: 6 floor needs a number
// error: 7 ceil
fn f(f32[] a) -> f32 {
    var x = round(1.0, 2.0);
    var y = floor(1 < 2);
    var z = ceil();
    return 0.0;
}
