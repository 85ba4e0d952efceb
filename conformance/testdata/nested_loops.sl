// A counted loop whose body holds a loop that is not counted, and two loops that share a
// counter (the second starts where the first ended): the range tests of checked access look
// at the inner loops whose start they know. Expected value worked out by hand.
// expect: nested_loops() = 77.0
fn nested_loops() -> f64 {
    var a = array<f32>([8]);
    var q = 0;
    while (q < 8) {
        a[q] = (q % 3) as f32 + 0.5;
        q = q + 1;
    }
    f64 s = 0.0;
    var i = 0;
    while (i < 4) {
        var k = 0;
        while (k < 8 && a[k] < 2.0) {
            k = k + 1;
        }
        var j = 0;
        while (j < 4) {
            s = s + a[j] * a[i];
            j = j + 1;
        }
        while (j < 8) {
            s = s + a[j - 4] + k;
            j = j + 1;
        }
        i = i + 1;
    }
    return s;
}
