; Kernels for the loader tests that cover every kind of scalar and array, written by hand in
; the form simpc produces (see kernels.ll for the convention).

@simplang_signatures = constant [249 x i8] c"fn mix(f64 x, f32 y, i64 a, i32 b, i16 c, i8 d, bool neg) -> f64\0Afn neg8(i8 x) -> i8\0Afn neg16(i16 x) -> i16\0Afn neg32(i32 x) -> i32\0Afn not(bool b) -> bool\0Afn wide(f32[] a, f64[] b, i64[] c, i32[] d, i16[] e, i8[] f, bool[] g, f32[] h, i64 k) -> f64\0A\00"

; fn mix(f64 x, f32 y, i64 a, i32 b, i16 c, i8 d, bool neg) -> f64:
; x + y + a + b + c + d, negated when neg.
define double @mix(double %x, float %y, i64 %a, i32 %b, i16 %c, i8 %d, i1 %neg) {
  %yd = fpext float %y to double
  %ad = sitofp i64 %a to double
  %bd = sitofp i32 %b to double
  %cd = sitofp i16 %c to double
  %dd = sitofp i8 %d to double
  %s1 = fadd double %x, %yd
  %s2 = fadd double %s1, %ad
  %s3 = fadd double %s2, %bd
  %s4 = fadd double %s3, %cd
  %s5 = fadd double %s4, %dd
  %minus = fneg double %s5
  %r = select i1 %neg, double %minus, double %s5
  ret double %r
}

; fn neg8(i8 x) -> i8, neg16, neg32: -x, to check each integer result width.
define i8 @neg8(i8 %x) {
  %r = sub i8 0, %x
  ret i8 %r
}

define i16 @neg16(i16 %x) {
  %r = sub i16 0, %x
  ret i16 %r
}

define i32 @neg32(i32 %x) {
  %r = sub i32 0, %x
  ret i32 %r
}

; fn not(bool b) -> bool
define i1 @not(i1 %b) {
  %r = xor i1 %b, true
  ret i1 %r
}

; fn wide(f32[] a, f64[] b, i64[] c, i32[] d, i16[] e, i8[] f, bool[] g, f32[] h, i64 k) -> f64:
; 41 C arguments. Returns 1*last(a) + 2*last(b) + ... + 8*last(h) + 9*k, where last(x) is
; x[size-1], so every array's pointer and size must arrive in its own place.
define double @wide(ptr %a.alloc, ptr %a, i64 %a.off, i64 %a.size, i64 %a.stride, ptr %b.alloc, ptr %b, i64 %b.off, i64 %b.size, i64 %b.stride, ptr %c.alloc, ptr %c, i64 %c.off, i64 %c.size, i64 %c.stride, ptr %d.alloc, ptr %d, i64 %d.off, i64 %d.size, i64 %d.stride, ptr %e.alloc, ptr %e, i64 %e.off, i64 %e.size, i64 %e.stride, ptr %f.alloc, ptr %f, i64 %f.off, i64 %f.size, i64 %f.stride, ptr %g.alloc, ptr %g, i64 %g.off, i64 %g.size, i64 %g.stride, ptr %h.alloc, ptr %h, i64 %h.off, i64 %h.size, i64 %h.stride, i64 %k) {
  %a.i = sub i64 %a.size, 1
  %a.p = getelementptr float, ptr %a, i64 %a.i
  %a.v = load float, ptr %a.p
  %a.x = fpext float %a.v to double
  %b.i = sub i64 %b.size, 1
  %b.p = getelementptr double, ptr %b, i64 %b.i
  %b.x = load double, ptr %b.p
  %c.i = sub i64 %c.size, 1
  %c.p = getelementptr i64, ptr %c, i64 %c.i
  %c.v = load i64, ptr %c.p
  %c.x = sitofp i64 %c.v to double
  %d.i = sub i64 %d.size, 1
  %d.p = getelementptr i32, ptr %d, i64 %d.i
  %d.v = load i32, ptr %d.p
  %d.x = sitofp i32 %d.v to double
  %e.i = sub i64 %e.size, 1
  %e.p = getelementptr i16, ptr %e, i64 %e.i
  %e.v = load i16, ptr %e.p
  %e.x = sitofp i16 %e.v to double
  %f.i = sub i64 %f.size, 1
  %f.p = getelementptr i8, ptr %f, i64 %f.i
  %f.v = load i8, ptr %f.p
  %f.x = sitofp i8 %f.v to double
  %g.i = sub i64 %g.size, 1
  %g.p = getelementptr i1, ptr %g, i64 %g.i
  %g.v = load i1, ptr %g.p
  %g.x = uitofp i1 %g.v to double
  %h.i = sub i64 %h.size, 1
  %h.p = getelementptr float, ptr %h, i64 %h.i
  %h.v = load float, ptr %h.p
  %h.x = fpext float %h.v to double
  %k.x = sitofp i64 %k to double
  %b.w = fmul double %b.x, 2.0
  %c.w = fmul double %c.x, 3.0
  %d.w = fmul double %d.x, 4.0
  %e.w = fmul double %e.x, 5.0
  %f.w = fmul double %f.x, 6.0
  %g.w = fmul double %g.x, 7.0
  %h.w = fmul double %h.x, 8.0
  %k.w = fmul double %k.x, 9.0
  %s1 = fadd double %a.x, %b.w
  %s2 = fadd double %s1, %c.w
  %s3 = fadd double %s2, %d.w
  %s4 = fadd double %s3, %e.w
  %s5 = fadd double %s4, %f.w
  %s6 = fadd double %s5, %g.w
  %s7 = fadd double %s6, %h.w
  %s8 = fadd double %s7, %k.w
  ret double %s8
}

; Packed entries: load each C argument through args[i], call, store the result to args[N].

define i32 @_mlir_mix(ptr %args) {
  %x.slot = getelementptr ptr, ptr %args, i64 0
  %x.ptr = load ptr, ptr %x.slot
  %x = load double, ptr %x.ptr
  %y.slot = getelementptr ptr, ptr %args, i64 1
  %y.ptr = load ptr, ptr %y.slot
  %y = load float, ptr %y.ptr
  %a.slot = getelementptr ptr, ptr %args, i64 2
  %a.ptr = load ptr, ptr %a.slot
  %a = load i64, ptr %a.ptr
  %b.slot = getelementptr ptr, ptr %args, i64 3
  %b.ptr = load ptr, ptr %b.slot
  %b = load i32, ptr %b.ptr
  %c.slot = getelementptr ptr, ptr %args, i64 4
  %c.ptr = load ptr, ptr %c.slot
  %c = load i16, ptr %c.ptr
  %d.slot = getelementptr ptr, ptr %args, i64 5
  %d.ptr = load ptr, ptr %d.slot
  %d = load i8, ptr %d.ptr
  %neg.slot = getelementptr ptr, ptr %args, i64 6
  %neg.ptr = load ptr, ptr %neg.slot
  %neg = load i1, ptr %neg.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 7
  %result.ptr = load ptr, ptr %result.slot
  %result = call double @mix(double %x, float %y, i64 %a, i32 %b, i16 %c, i8 %d, i1 %neg)
  store double %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_neg8(ptr %args) {
  %x.slot = getelementptr ptr, ptr %args, i64 0
  %x.ptr = load ptr, ptr %x.slot
  %x = load i8, ptr %x.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 1
  %result.ptr = load ptr, ptr %result.slot
  %result = call i8 @neg8(i8 %x)
  store i8 %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_neg16(ptr %args) {
  %x.slot = getelementptr ptr, ptr %args, i64 0
  %x.ptr = load ptr, ptr %x.slot
  %x = load i16, ptr %x.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 1
  %result.ptr = load ptr, ptr %result.slot
  %result = call i16 @neg16(i16 %x)
  store i16 %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_neg32(ptr %args) {
  %x.slot = getelementptr ptr, ptr %args, i64 0
  %x.ptr = load ptr, ptr %x.slot
  %x = load i32, ptr %x.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 1
  %result.ptr = load ptr, ptr %result.slot
  %result = call i32 @neg32(i32 %x)
  store i32 %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_not(ptr %args) {
  %b.slot = getelementptr ptr, ptr %args, i64 0
  %b.ptr = load ptr, ptr %b.slot
  %b = load i1, ptr %b.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 1
  %result.ptr = load ptr, ptr %result.slot
  %result = call i1 @not(i1 %b)
  store i1 %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_wide(ptr %args) {
  %a.alloc.slot = getelementptr ptr, ptr %args, i64 0
  %a.alloc.ptr = load ptr, ptr %a.alloc.slot
  %a.alloc = load ptr, ptr %a.alloc.ptr
  %a.slot = getelementptr ptr, ptr %args, i64 1
  %a.ptr = load ptr, ptr %a.slot
  %a = load ptr, ptr %a.ptr
  %a.off.slot = getelementptr ptr, ptr %args, i64 2
  %a.off.ptr = load ptr, ptr %a.off.slot
  %a.off = load i64, ptr %a.off.ptr
  %a.size.slot = getelementptr ptr, ptr %args, i64 3
  %a.size.ptr = load ptr, ptr %a.size.slot
  %a.size = load i64, ptr %a.size.ptr
  %a.stride.slot = getelementptr ptr, ptr %args, i64 4
  %a.stride.ptr = load ptr, ptr %a.stride.slot
  %a.stride = load i64, ptr %a.stride.ptr
  %b.alloc.slot = getelementptr ptr, ptr %args, i64 5
  %b.alloc.ptr = load ptr, ptr %b.alloc.slot
  %b.alloc = load ptr, ptr %b.alloc.ptr
  %b.slot = getelementptr ptr, ptr %args, i64 6
  %b.ptr = load ptr, ptr %b.slot
  %b = load ptr, ptr %b.ptr
  %b.off.slot = getelementptr ptr, ptr %args, i64 7
  %b.off.ptr = load ptr, ptr %b.off.slot
  %b.off = load i64, ptr %b.off.ptr
  %b.size.slot = getelementptr ptr, ptr %args, i64 8
  %b.size.ptr = load ptr, ptr %b.size.slot
  %b.size = load i64, ptr %b.size.ptr
  %b.stride.slot = getelementptr ptr, ptr %args, i64 9
  %b.stride.ptr = load ptr, ptr %b.stride.slot
  %b.stride = load i64, ptr %b.stride.ptr
  %c.alloc.slot = getelementptr ptr, ptr %args, i64 10
  %c.alloc.ptr = load ptr, ptr %c.alloc.slot
  %c.alloc = load ptr, ptr %c.alloc.ptr
  %c.slot = getelementptr ptr, ptr %args, i64 11
  %c.ptr = load ptr, ptr %c.slot
  %c = load ptr, ptr %c.ptr
  %c.off.slot = getelementptr ptr, ptr %args, i64 12
  %c.off.ptr = load ptr, ptr %c.off.slot
  %c.off = load i64, ptr %c.off.ptr
  %c.size.slot = getelementptr ptr, ptr %args, i64 13
  %c.size.ptr = load ptr, ptr %c.size.slot
  %c.size = load i64, ptr %c.size.ptr
  %c.stride.slot = getelementptr ptr, ptr %args, i64 14
  %c.stride.ptr = load ptr, ptr %c.stride.slot
  %c.stride = load i64, ptr %c.stride.ptr
  %d.alloc.slot = getelementptr ptr, ptr %args, i64 15
  %d.alloc.ptr = load ptr, ptr %d.alloc.slot
  %d.alloc = load ptr, ptr %d.alloc.ptr
  %d.slot = getelementptr ptr, ptr %args, i64 16
  %d.ptr = load ptr, ptr %d.slot
  %d = load ptr, ptr %d.ptr
  %d.off.slot = getelementptr ptr, ptr %args, i64 17
  %d.off.ptr = load ptr, ptr %d.off.slot
  %d.off = load i64, ptr %d.off.ptr
  %d.size.slot = getelementptr ptr, ptr %args, i64 18
  %d.size.ptr = load ptr, ptr %d.size.slot
  %d.size = load i64, ptr %d.size.ptr
  %d.stride.slot = getelementptr ptr, ptr %args, i64 19
  %d.stride.ptr = load ptr, ptr %d.stride.slot
  %d.stride = load i64, ptr %d.stride.ptr
  %e.alloc.slot = getelementptr ptr, ptr %args, i64 20
  %e.alloc.ptr = load ptr, ptr %e.alloc.slot
  %e.alloc = load ptr, ptr %e.alloc.ptr
  %e.slot = getelementptr ptr, ptr %args, i64 21
  %e.ptr = load ptr, ptr %e.slot
  %e = load ptr, ptr %e.ptr
  %e.off.slot = getelementptr ptr, ptr %args, i64 22
  %e.off.ptr = load ptr, ptr %e.off.slot
  %e.off = load i64, ptr %e.off.ptr
  %e.size.slot = getelementptr ptr, ptr %args, i64 23
  %e.size.ptr = load ptr, ptr %e.size.slot
  %e.size = load i64, ptr %e.size.ptr
  %e.stride.slot = getelementptr ptr, ptr %args, i64 24
  %e.stride.ptr = load ptr, ptr %e.stride.slot
  %e.stride = load i64, ptr %e.stride.ptr
  %f.alloc.slot = getelementptr ptr, ptr %args, i64 25
  %f.alloc.ptr = load ptr, ptr %f.alloc.slot
  %f.alloc = load ptr, ptr %f.alloc.ptr
  %f.slot = getelementptr ptr, ptr %args, i64 26
  %f.ptr = load ptr, ptr %f.slot
  %f = load ptr, ptr %f.ptr
  %f.off.slot = getelementptr ptr, ptr %args, i64 27
  %f.off.ptr = load ptr, ptr %f.off.slot
  %f.off = load i64, ptr %f.off.ptr
  %f.size.slot = getelementptr ptr, ptr %args, i64 28
  %f.size.ptr = load ptr, ptr %f.size.slot
  %f.size = load i64, ptr %f.size.ptr
  %f.stride.slot = getelementptr ptr, ptr %args, i64 29
  %f.stride.ptr = load ptr, ptr %f.stride.slot
  %f.stride = load i64, ptr %f.stride.ptr
  %g.alloc.slot = getelementptr ptr, ptr %args, i64 30
  %g.alloc.ptr = load ptr, ptr %g.alloc.slot
  %g.alloc = load ptr, ptr %g.alloc.ptr
  %g.slot = getelementptr ptr, ptr %args, i64 31
  %g.ptr = load ptr, ptr %g.slot
  %g = load ptr, ptr %g.ptr
  %g.off.slot = getelementptr ptr, ptr %args, i64 32
  %g.off.ptr = load ptr, ptr %g.off.slot
  %g.off = load i64, ptr %g.off.ptr
  %g.size.slot = getelementptr ptr, ptr %args, i64 33
  %g.size.ptr = load ptr, ptr %g.size.slot
  %g.size = load i64, ptr %g.size.ptr
  %g.stride.slot = getelementptr ptr, ptr %args, i64 34
  %g.stride.ptr = load ptr, ptr %g.stride.slot
  %g.stride = load i64, ptr %g.stride.ptr
  %h.alloc.slot = getelementptr ptr, ptr %args, i64 35
  %h.alloc.ptr = load ptr, ptr %h.alloc.slot
  %h.alloc = load ptr, ptr %h.alloc.ptr
  %h.slot = getelementptr ptr, ptr %args, i64 36
  %h.ptr = load ptr, ptr %h.slot
  %h = load ptr, ptr %h.ptr
  %h.off.slot = getelementptr ptr, ptr %args, i64 37
  %h.off.ptr = load ptr, ptr %h.off.slot
  %h.off = load i64, ptr %h.off.ptr
  %h.size.slot = getelementptr ptr, ptr %args, i64 38
  %h.size.ptr = load ptr, ptr %h.size.slot
  %h.size = load i64, ptr %h.size.ptr
  %h.stride.slot = getelementptr ptr, ptr %args, i64 39
  %h.stride.ptr = load ptr, ptr %h.stride.slot
  %h.stride = load i64, ptr %h.stride.ptr
  %k.slot = getelementptr ptr, ptr %args, i64 40
  %k.ptr = load ptr, ptr %k.slot
  %k = load i64, ptr %k.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 41
  %result.ptr = load ptr, ptr %result.slot
  %result = call double @wide(ptr %a.alloc, ptr %a, i64 %a.off, i64 %a.size, i64 %a.stride, ptr %b.alloc, ptr %b, i64 %b.off, i64 %b.size, i64 %b.stride, ptr %c.alloc, ptr %c, i64 %c.off, i64 %c.size, i64 %c.stride, ptr %d.alloc, ptr %d, i64 %d.off, i64 %d.size, i64 %d.stride, ptr %e.alloc, ptr %e, i64 %e.off, i64 %e.size, i64 %e.stride, ptr %f.alloc, ptr %f, i64 %f.off, i64 %f.size, i64 %f.stride, ptr %g.alloc, ptr %g, i64 %g.off, i64 %g.size, i64 %g.stride, ptr %h.alloc, ptr %h, i64 %h.off, i64 %h.size, i64 %h.stride, i64 %k)
  store double %result, ptr %result.ptr
  ret i32 0
}
