func.func @scale(%a: memref<?xf32>, %s: f32, %n: i64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %nn = arith.index_cast %n : i64 to index
  scf.parallel (%i) = (%c0) to (%nn) step (%c1) {
    %x = memref.load %a[%i] : memref<?xf32>
    %y = arith.mulf %x, %s : f32
    memref.store %y, %a[%i] : memref<?xf32>
    scf.reduce
  }
  return
}
