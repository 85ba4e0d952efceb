; LLVM 14 syntax with typed pointers, as github.com/llir/llvm writes it.
define float @twice(float* %p) {
entry:
  %v = load float, float* %p
  %w = fmul float %v, 2.0
  ret float %w
}
