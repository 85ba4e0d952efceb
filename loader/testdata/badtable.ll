; A signature table that does not parse (q32 is not a type).

@simplang_signatures = constant [15 x i8] c"fn bad(q32 x)\0A\00"
