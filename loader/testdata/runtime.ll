; What every object simpc builds carries beside its kernels (package entry), reduced to what
; the loader looks for: an empty site table and a report that is never taken. Linked into
; every test object; checks.ll replaces it for the test of a failed check.

@simplang_sites = constant [1 x i8] c"\00"

define i32 @simplang_take_error(ptr %e) {
  ret i32 0
}
