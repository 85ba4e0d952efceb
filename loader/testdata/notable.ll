; A shared object with no signature table: not built by simpc.

define i64 @answer() {
  ret i64 42
}
