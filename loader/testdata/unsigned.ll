; Kernels for the loader tests of the unsigned and half-precision kinds, written by hand in
; the form simpc produces (see kernels.ll for the convention): f16 and bf16 values are their
; 16 bits (i16), unsigned values integers of their width.
@simplang_signatures = constant [207 x i8] c"fn last(u8[] a, u16[] b, u32[] c, u64[] d, f16[] h, bf16[] w) -> u64\0Afn sum(u8 a, u16 b, u32 c, u64 d) -> u64\0Afn low(u64 x) -> u8\0Afn low32(u64 x) -> u32\0Afn swap(f16 h, bf16 b) -> bf16\0Afn same(f16 h) -> f16\0A\00"

; fn last(u8[] a, u16[] b, u32[] c, u64[] d, f16[] h, bf16[] w) -> u64: the sum of every
; array's last element, zero-extended (for h and w, their bits), so that every array's pointer
; and size must arrive in its own place.
define i64 @last(ptr %a.alloc, ptr %a, i64 %a.off, i64 %a.size, i64 %a.stride, ptr %b.alloc, ptr %b, i64 %b.off, i64 %b.size, i64 %b.stride, ptr %c.alloc, ptr %c, i64 %c.off, i64 %c.size, i64 %c.stride, ptr %d.alloc, ptr %d, i64 %d.off, i64 %d.size, i64 %d.stride, ptr %h.alloc, ptr %h, i64 %h.off, i64 %h.size, i64 %h.stride, ptr %w.alloc, ptr %w, i64 %w.off, i64 %w.size, i64 %w.stride) {
  %a.i = sub i64 %a.size, 1
  %a.p = getelementptr i8, ptr %a, i64 %a.i
  %a.v = load i8, ptr %a.p
  %a.x = zext i8 %a.v to i64
  %b.i = sub i64 %b.size, 1
  %b.p = getelementptr i16, ptr %b, i64 %b.i
  %b.v = load i16, ptr %b.p
  %b.x = zext i16 %b.v to i64
  %b.s = add i64 %a.x, %b.x
  %c.i = sub i64 %c.size, 1
  %c.p = getelementptr i32, ptr %c, i64 %c.i
  %c.v = load i32, ptr %c.p
  %c.x = zext i32 %c.v to i64
  %c.s = add i64 %b.s, %c.x
  %d.i = sub i64 %d.size, 1
  %d.p = getelementptr i64, ptr %d, i64 %d.i
  %d.v = load i64, ptr %d.p
  %d.x = add i64 %d.v, 0
  %d.s = add i64 %c.s, %d.x
  %h.i = sub i64 %h.size, 1
  %h.p = getelementptr i16, ptr %h, i64 %h.i
  %h.v = load i16, ptr %h.p
  %h.x = zext i16 %h.v to i64
  %h.s = add i64 %d.s, %h.x
  %w.i = sub i64 %w.size, 1
  %w.p = getelementptr i16, ptr %w, i64 %w.i
  %w.v = load i16, ptr %w.p
  %w.x = zext i16 %w.v to i64
  %w.s = add i64 %h.s, %w.x
  ret i64 %w.s
}

; fn sum(u8 a, u16 b, u32 c, u64 d) -> u64: a + b + c + d, each zero-extended.
define i64 @sum(i8 %a, i16 %b, i32 %c, i64 %d) {
  %a.x = zext i8 %a to i64
  %b.x = zext i16 %b to i64
  %c.x = zext i32 %c to i64
  %s1 = add i64 %a.x, %b.x
  %s2 = add i64 %s1, %c.x
  %s3 = add i64 %s2, %d
  ret i64 %s3
}

; fn low(u64 x) -> u8 and low32: the low bits of x, to check the unsigned result widths.
define i8 @low(i64 %x) {
  %r = trunc i64 %x to i8
  ret i8 %r
}

define i32 @low32(i64 %x) {
  %r = trunc i64 %x to i32
  ret i32 %r
}

; fn swap(f16 h, bf16 b) -> bf16: the bits of h (and b unused but in its place).
define i16 @swap(i16 %h, i16 %b) {
  %r = xor i16 %h, 0
  ret i16 %r
}

; fn same(f16 h) -> f16: h.
define i16 @same(i16 %h) {
  ret i16 %h
}

; Packed entries: load each C argument through args[i], call, store the result to args[N].

define i32 @_mlir_last(ptr %args) {
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
  %h.alloc.slot = getelementptr ptr, ptr %args, i64 20
  %h.alloc.ptr = load ptr, ptr %h.alloc.slot
  %h.alloc = load ptr, ptr %h.alloc.ptr
  %h.slot = getelementptr ptr, ptr %args, i64 21
  %h.ptr = load ptr, ptr %h.slot
  %h = load ptr, ptr %h.ptr
  %h.off.slot = getelementptr ptr, ptr %args, i64 22
  %h.off.ptr = load ptr, ptr %h.off.slot
  %h.off = load i64, ptr %h.off.ptr
  %h.size.slot = getelementptr ptr, ptr %args, i64 23
  %h.size.ptr = load ptr, ptr %h.size.slot
  %h.size = load i64, ptr %h.size.ptr
  %h.stride.slot = getelementptr ptr, ptr %args, i64 24
  %h.stride.ptr = load ptr, ptr %h.stride.slot
  %h.stride = load i64, ptr %h.stride.ptr
  %w.alloc.slot = getelementptr ptr, ptr %args, i64 25
  %w.alloc.ptr = load ptr, ptr %w.alloc.slot
  %w.alloc = load ptr, ptr %w.alloc.ptr
  %w.slot = getelementptr ptr, ptr %args, i64 26
  %w.ptr = load ptr, ptr %w.slot
  %w = load ptr, ptr %w.ptr
  %w.off.slot = getelementptr ptr, ptr %args, i64 27
  %w.off.ptr = load ptr, ptr %w.off.slot
  %w.off = load i64, ptr %w.off.ptr
  %w.size.slot = getelementptr ptr, ptr %args, i64 28
  %w.size.ptr = load ptr, ptr %w.size.slot
  %w.size = load i64, ptr %w.size.ptr
  %w.stride.slot = getelementptr ptr, ptr %args, i64 29
  %w.stride.ptr = load ptr, ptr %w.stride.slot
  %w.stride = load i64, ptr %w.stride.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 30
  %result.ptr = load ptr, ptr %result.slot
  %result = call i64 @last(ptr %a.alloc, ptr %a, i64 %a.off, i64 %a.size, i64 %a.stride, ptr %b.alloc, ptr %b, i64 %b.off, i64 %b.size, i64 %b.stride, ptr %c.alloc, ptr %c, i64 %c.off, i64 %c.size, i64 %c.stride, ptr %d.alloc, ptr %d, i64 %d.off, i64 %d.size, i64 %d.stride, ptr %h.alloc, ptr %h, i64 %h.off, i64 %h.size, i64 %h.stride, ptr %w.alloc, ptr %w, i64 %w.off, i64 %w.size, i64 %w.stride)
  store i64 %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_sum(ptr %args) {
  %a.slot = getelementptr ptr, ptr %args, i64 0
  %a.ptr = load ptr, ptr %a.slot
  %a = load i8, ptr %a.ptr
  %b.slot = getelementptr ptr, ptr %args, i64 1
  %b.ptr = load ptr, ptr %b.slot
  %b = load i16, ptr %b.ptr
  %c.slot = getelementptr ptr, ptr %args, i64 2
  %c.ptr = load ptr, ptr %c.slot
  %c = load i32, ptr %c.ptr
  %d.slot = getelementptr ptr, ptr %args, i64 3
  %d.ptr = load ptr, ptr %d.slot
  %d = load i64, ptr %d.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 4
  %result.ptr = load ptr, ptr %result.slot
  %result = call i64 @sum(i8 %a, i16 %b, i32 %c, i64 %d)
  store i64 %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_low(ptr %args) {
  %x.slot = getelementptr ptr, ptr %args, i64 0
  %x.ptr = load ptr, ptr %x.slot
  %x = load i64, ptr %x.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 1
  %result.ptr = load ptr, ptr %result.slot
  %result = call i8 @low(i64 %x)
  store i8 %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_low32(ptr %args) {
  %x.slot = getelementptr ptr, ptr %args, i64 0
  %x.ptr = load ptr, ptr %x.slot
  %x = load i64, ptr %x.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 1
  %result.ptr = load ptr, ptr %result.slot
  %result = call i32 @low32(i64 %x)
  store i32 %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_swap(ptr %args) {
  %h.slot = getelementptr ptr, ptr %args, i64 0
  %h.ptr = load ptr, ptr %h.slot
  %h = load i16, ptr %h.ptr
  %b.slot = getelementptr ptr, ptr %args, i64 1
  %b.ptr = load ptr, ptr %b.slot
  %b = load i16, ptr %b.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 2
  %result.ptr = load ptr, ptr %result.slot
  %result = call i16 @swap(i16 %h, i16 %b)
  store i16 %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_same(ptr %args) {
  %h.slot = getelementptr ptr, ptr %args, i64 0
  %h.ptr = load ptr, ptr %h.slot
  %h = load i16, ptr %h.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 1
  %result.ptr = load ptr, ptr %result.slot
  %result = call i16 @same(i16 %h)
  store i16 %result, ptr %result.ptr
  ret i32 0
}
