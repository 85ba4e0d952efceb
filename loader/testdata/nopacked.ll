; A signature table that lists a function the object does not export.

@simplang_signatures = constant [19 x i8] c"fn ghost(f32[] a)\0A\00"
