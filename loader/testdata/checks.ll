; A kernel whose checks always fail (as checked code reports an index out of range, language
; §4.1): _mlir_oops returns 1 and simplang_take_error gives site 1, index 7, size 3; and
; _mlir_lost, whose report names a site the table lacks.

@simplang_signatures = constant [33 x i8] c"fn oops() -> i64\0Afn lost(i64 n)\0A\00"
@simplang_sites = constant [47 x i8] c"k.sl:2:9\09oops\09divide\0Ak.sl:3:14\09oops\09index\09b\090\0A\00"
@site = internal global i32 1

define i64 @oops() {
  ret i64 0
}

define void @lost(i64 %n) {
  store i32 9, ptr @site
  ret void
}

define i32 @_mlir_oops(ptr %args) {
  store i32 1, ptr @site
  ret i32 1
}

define i32 @_mlir_lost(ptr %args) {
  store i32 9, ptr @site
  ret i32 1
}

define i32 @simplang_take_error(ptr %e) {
  %s = load i32, ptr @site
  store i32 %s, ptr %e
  %index = getelementptr inbounds i8, ptr %e, i64 8
  store i64 7, ptr %index
  %size = getelementptr inbounds i8, ptr %e, i64 16
  store i64 3, ptr %size
  ret i32 1
}
