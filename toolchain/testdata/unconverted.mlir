func.func @f(%a: memref<?xf32>) -> tensor<4xf32> {
  %t = bufferization.to_tensor %a : memref<?xf32>
  %c = tensor.cast %t : tensor<?xf32> to tensor<4xf32>
  return %c : tensor<4xf32>
}
