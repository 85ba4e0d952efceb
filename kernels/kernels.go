// Package kernels holds the SimpLang sources of the project's kernels, embedded so that
// programs can compile them wherever they run:
//
//   - llama2.sl: the LLaMA 2 decode step (llama2_forward, 24 arrays and 9 integers) and the
//     pieces it is made of (matvec, matvec2, qkv, rope_tables, rope, attention, swiglu,
//     transformer_block), each exported;
//   - llama2_prefill.sl: the LLaMA 2 prefill on f32 weights (llama2_prefill: T tokens at
//     positions pos … pos+T−1 in one call, the projections written as the transposed-B
//     matrix product that the compiler tiles, the KV cache filled for every token, the logits
//     of the last one) and its pieces;
//   - llama2_q8.sl: the same step on q8 weights (llama2_q8_forward: i8 values with f32 group
//     scales, the group size and the RoPE base as parameters) and its pieces;
//   - llama2_q4.sl: the same step on q4 weights (llama2_q4_forward: two 4-bit values per u8,
//     llama.cpp's q4_0 nibble order, with f16 group scales) and its pieces;
//   - llama2_bf16.sl: the same step on bf16 weights with f32 arithmetic (llama2_bf16_forward,
//     the RoPE base a parameter) and its pieces;
//   - llama2_prefill_bf16.sl, llama2_prefill_q8.sl, llama2_prefill_q4.sl: the prefill on
//     those weights (llama2_prefill_bf16, …: T tokens in one call with the arithmetic of T
//     decode steps of the same type, each weight row read once per batch and run against
//     the T tokens' inputs) and their pieces;
//   - rmsnorm.sl, softmax.sl, silu.sl: the small kernels, each written with loops and with the
//     builtin, tested against Go;
//   - bandwidth.sl: a memory-read kernel that measures the machine's streaming bandwidth.
package kernels

import (
	"embed"
	"fmt"
)

//go:embed *.sl
var sources embed.FS

// Source returns the text of kernel file name (e.g. "llama2.sl").
func Source(name string) ([]byte, error) {
	src, err := sources.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("kernels: no kernel file %s", name)
	}
	return src, nil
}
