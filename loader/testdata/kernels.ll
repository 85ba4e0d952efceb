; Kernels for the loader tests, written by hand in the form simpc produces (language §6): each
; array parameter is five C arguments (allocated, aligned, offset, size, stride), scalars are
; passed by value, every function F has a packed entry _mlir_F(ptr args) where args[i] points
; to the i-th C argument and args[N] to the result slot (returning 0: no check failed), and
; @simplang_signatures lists the functions (runtime.ll, linked beside, has the rest). Every kernel but calls() bumps @count, so a test can tell whether a call ran.

@simplang_signatures = constant [151 x i8] c"fn calls() -> i64\0Afn dot(f32[] a, f32[] b, i64 n) -> f32\0Afn scale(f32[] a, f32 s, i64 n)\0Afn shape(f32[] a) -> i64\0Afn spin(f32[] a, i64 rounds) -> f64\0A\00"

@count = global i64 0

; fn calls() -> i64: how many kernel calls have run.
define i64 @calls() {
  %c = load atomic i64, ptr @count monotonic, align 8
  ret i64 %c
}

; fn dot(f32[] a, f32[] b, i64 n) -> f32: the sum of a[i]*b[i], in index order.
define float @dot(ptr %a.alloc, ptr %a, i64 %a.off, i64 %a.size, i64 %a.stride, ptr %b.alloc, ptr %b, i64 %b.off, i64 %b.size, i64 %b.stride, i64 %n) {
entry:
  %old = atomicrmw add ptr @count, i64 1 monotonic
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %done, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %sum = phi float [ 0.0, %entry ], [ %sum.next, %loop ]
  %pa = getelementptr float, ptr %a, i64 %i
  %pb = getelementptr float, ptr %b, i64 %i
  %va = load float, ptr %pa
  %vb = load float, ptr %pb
  %prod = fmul float %va, %vb
  %sum.next = fadd float %sum, %prod
  %i.next = add i64 %i, 1
  %more = icmp slt i64 %i.next, %n
  br i1 %more, label %loop, label %done
done:
  %r = phi float [ 0.0, %entry ], [ %sum.next, %loop ]
  ret float %r
}

; fn scale(f32[] a, f32 s, i64 n): a[i] = a[i]*s for i < n.
define void @scale(ptr %a.alloc, ptr %a, i64 %a.off, i64 %a.size, i64 %a.stride, float %s, i64 %n) {
entry:
  %old = atomicrmw add ptr @count, i64 1 monotonic
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %done, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %p = getelementptr float, ptr %a, i64 %i
  %v = load float, ptr %p
  %scaled = fmul float %v, %s
  store float %scaled, ptr %p
  %i.next = add i64 %i, 1
  %more = icmp slt i64 %i.next, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}

; fn shape(f32[] a) -> i64: the descriptor as one number, size + 1000*stride + 10^6*offset,
; plus 10^9 when aligned is null and 2*10^9 when allocated differs from aligned.
define i64 @shape(ptr %a.alloc, ptr %a, i64 %a.off, i64 %a.size, i64 %a.stride) {
  %old = atomicrmw add ptr @count, i64 1 monotonic
  %stride = mul i64 %a.stride, 1000
  %off = mul i64 %a.off, 1000000
  %isnull = icmp eq ptr %a, null
  %null = select i1 %isnull, i64 1000000000, i64 0
  %differ = icmp ne ptr %a.alloc, %a
  %alias = select i1 %differ, i64 2000000000, i64 0
  %s1 = add i64 %a.size, %stride
  %s2 = add i64 %s1, %off
  %s3 = add i64 %s2, %null
  %s4 = add i64 %s3, %alias
  ret i64 %s4
}

; fn spin(f32[] a, i64 rounds) -> f64: adds 1 to every element, rounds times (a slow call
; that keeps touching a), then returns the sum of the elements in index order.
define double @spin(ptr %a.alloc, ptr %a, i64 %a.off, i64 %a.size, i64 %a.stride, i64 %rounds) {
entry:
  %old = atomicrmw add ptr @count, i64 1 monotonic
  %empty = icmp sle i64 %a.size, 0
  br i1 %empty, label %done, label %round
round:
  %r = phi i64 [ 0, %entry ], [ %r.next, %bump.end ]
  %more.rounds = icmp slt i64 %r, %rounds
  br i1 %more.rounds, label %bump, label %sum
bump:
  %i = phi i64 [ 0, %round ], [ %i.next, %bump ]
  %p = getelementptr float, ptr %a, i64 %i
  %v = load float, ptr %p
  %v.next = fadd float %v, 1.0
  store float %v.next, ptr %p
  %i.next = add i64 %i, 1
  %more = icmp slt i64 %i.next, %a.size
  br i1 %more, label %bump, label %bump.end
bump.end:
  %r.next = add i64 %r, 1
  br label %round
sum:
  %j = phi i64 [ 0, %round ], [ %j.next, %sum ]
  %acc = phi double [ 0.0, %round ], [ %acc.next, %sum ]
  %q = getelementptr float, ptr %a, i64 %j
  %w = load float, ptr %q
  %wd = fpext float %w to double
  %acc.next = fadd double %acc, %wd
  %j.next = add i64 %j, 1
  %more.sum = icmp slt i64 %j.next, %a.size
  br i1 %more.sum, label %sum, label %done
done:
  %total = phi double [ 0.0, %entry ], [ %acc.next, %sum ]
  ret double %total
}

; Packed entries: load each C argument through args[i], call, store the result to args[N].

define i32 @_mlir_calls(ptr %args) {
  %result.slot = getelementptr ptr, ptr %args, i64 0
  %result.ptr = load ptr, ptr %result.slot
  %result = call i64 @calls()
  store i64 %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_dot(ptr %args) {
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
  %n.slot = getelementptr ptr, ptr %args, i64 10
  %n.ptr = load ptr, ptr %n.slot
  %n = load i64, ptr %n.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 11
  %result.ptr = load ptr, ptr %result.slot
  %result = call float @dot(ptr %a.alloc, ptr %a, i64 %a.off, i64 %a.size, i64 %a.stride, ptr %b.alloc, ptr %b, i64 %b.off, i64 %b.size, i64 %b.stride, i64 %n)
  store float %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_scale(ptr %args) {
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
  %s.slot = getelementptr ptr, ptr %args, i64 5
  %s.ptr = load ptr, ptr %s.slot
  %s = load float, ptr %s.ptr
  %n.slot = getelementptr ptr, ptr %args, i64 6
  %n.ptr = load ptr, ptr %n.slot
  %n = load i64, ptr %n.ptr
  call void @scale(ptr %a.alloc, ptr %a, i64 %a.off, i64 %a.size, i64 %a.stride, float %s, i64 %n)
  ret i32 0
}

define i32 @_mlir_shape(ptr %args) {
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
  %result.slot = getelementptr ptr, ptr %args, i64 5
  %result.ptr = load ptr, ptr %result.slot
  %result = call i64 @shape(ptr %a.alloc, ptr %a, i64 %a.off, i64 %a.size, i64 %a.stride)
  store i64 %result, ptr %result.ptr
  ret i32 0
}

define i32 @_mlir_spin(ptr %args) {
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
  %rounds.slot = getelementptr ptr, ptr %args, i64 5
  %rounds.ptr = load ptr, ptr %rounds.slot
  %rounds = load i64, ptr %rounds.ptr
  %result.slot = getelementptr ptr, ptr %args, i64 6
  %result.ptr = load ptr, ptr %result.slot
  %result = call double @spin(ptr %a.alloc, ptr %a, i64 %a.off, i64 %a.size, i64 %a.stride, i64 %rounds)
  store double %result, ptr %result.ptr
  ret i32 0
}
