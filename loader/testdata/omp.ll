; A kernel that links LLVM's OpenMP runtime (build with -lomp), as simpc's parallel objects do.

@simplang_signatures = constant [21 x i8] c"fn threads() -> i32\0A\00"

declare i32 @omp_get_max_threads()

; fn threads() -> i32: how many threads the next parallel loop would use on this thread.
define i32 @threads() {
  %n = call i32 @omp_get_max_threads()
  ret i32 %n
}

define i32 @_mlir_threads(ptr %args) {
  %result.slot = getelementptr ptr, ptr %args, i64 0
  %result.ptr = load ptr, ptr %result.slot
  %result = call i32 @threads()
  store i32 %result, ptr %result.ptr
  ret i32 0
}
