func.func @f(%a: f32) -> f32 {
  %b = arith.addf %a, %a : f32
  return %c : f32
}
