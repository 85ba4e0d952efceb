package conformance

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/kernels"
	"github.com/simplang/simplang/loader"
	"golang.org/x/sys/cpu"
)

// dotKernels are byte dot-product loops, which package lower runs a chunk of 32 at a time
// (the internal builtin Dot) with the loop left for the rest. The results add the counter's
// final value, which must be where the loop would have left it.
const dotKernels = `
fn dot_i8_u8(i8[] a, i64 ia, u8[] b, i64 ib, i64 from, i64 n) -> i32 {
    i32 acc = 7;
    var j = from;
    while (j < n) {
        acc += (a[ia + j] as i32) * (b[j + ib] as i32);
        j = j + 1;
    }
    return acc + (j as i32);
}

fn dot_u8_u8(u8[] a, u8[] b, i64 n) -> i32 {
    i32 acc = 0;
    var j = 0;
    while (j < n) {
        acc = (b[j] as i32) * (a[j] as i32) + acc;
        j = j + 1;
    }
    return acc;
}
`

// TestByteDot checks the byte dot products against Go for lengths around the chunk size,
// offsets and start values, with the extreme values of i8 and u8, on both backends, checked
// and unchecked, and for a CPU without AVX-512 (the plain vector form of Dot).
func TestByteDot(t *testing.T) {
	configs := []compiler.Options{{}, {Unchecked: true}, {March: "x86-64-v3"}}
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		for _, base := range configs {
			opts := base
			opts.Backend = backend
			t.Run(fmt.Sprintf("%v/unchecked=%v/march=%q", backend, opts.Unchecked, opts.March), func(t *testing.T) {
				lib := kerneltest.Open(t, "dot.sl", []byte(dotKernels), opts)
				mixed, unsigned := kerneltest.Func(t, lib, "dot_i8_u8"), kerneltest.Func(t, lib, "dot_u8_u8")
				rng := rand.New(rand.NewPCG(1, 2))
				const size = 300
				a, b, c := make([]int8, size), make([]uint8, size), make([]uint8, size)
				for i := range a {
					a[i], b[i], c[i] = int8(rng.IntN(256)-128), uint8(rng.IntN(256)), uint8(rng.IntN(256))
					if i%5 == 0 { // the extremes, whose products must not saturate or wrap
						a[i], b[i], c[i] = -128, 255, 255
					}
				}
				for _, n := range []int{0, 1, 31, 32, 33, 63, 64, 65, 100, 255} {
					for _, off := range [][3]int{{0, 0, 0}, {3, 1, 0}, {0, 40, 5}, {17, 2, 40}} {
						ia, ib, from := off[0], off[1], off[2]
						want := int32(7)
						j := from
						for ; j < n; j++ {
							want += int32(a[ia+j]) * int32(b[j+ib])
						}
						want += int32(j)
						got := kerneltest.Call(t, mixed, a, int64(ia), b, int64(ib), int64(from), int64(n)).(int32)
						if got != want {
							t.Errorf("dot_i8_u8(ia=%d, ib=%d, from=%d, n=%d) = %d, want %d", ia, ib, from, n, got, want)
						}
					}
					var want int32
					for j := range n {
						want += int32(c[j]) * int32(b[j])
					}
					if got := kerneltest.Call(t, unsigned, c, b, int64(n)).(int32); got != want {
						t.Errorf("dot_u8_u8(n=%d) = %d, want %d", n, got, want)
					}
				}
			})
		}
	}
}

// TestQuantizedKernelsUseDotInstructions disassembles the q8 and q4 LLaMA kernels from both
// backends and finds the CPU's int8 dot-product instructions: vpdpbusd (two groups of bytes
// at once) where it has AVX-512 VNNI, with the prefetches of the weights ahead into the
// second-level cache that go with those group dots (lower.PrefetchAhead), and vpmaddwd where
// it has AVX-512 BW without VNNI.
func TestQuantizedKernelsUseDotInstructions(t *testing.T) {
	var wants []string
	switch {
	case cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI:
		wants = []string{"vpdpbusd", "prefetcht2"}
	case cpu.X86.HasAVX512BW:
		wants = []string{"vpmaddwd"}
	default:
		t.Skip("this CPU has no AVX-512 BW: the byte dot products are plain vector code")
	}
	tool := objdump(t)
	for _, name := range []string{"llama2_q8.sl", "llama2_q4.sl"} {
		src, err := kernels.Source(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
			obj := kerneltest.Compile(t, name, src, compiler.Options{Backend: backend})
			funcs := disassemble(t, tool, obj.Path)
			for _, want := range wants {
				n := 0
				for _, insns := range funcs {
					for _, insn := range insns {
						if strings.HasPrefix(insn, want) {
							n++
						}
					}
				}
				if n == 0 {
					t.Errorf("%s, %v: no %s in the compiled kernel", name, backend, want)
				}
				t.Logf("%s, %v: %d × %s", name, backend, n, want)
			}
		}
	}
}

// groupKernels are the row loops of q8 and q4 mat-vecs: per group of gs, an i32 dot product
// times the group's scale. With gs = 32 package lower keeps the sums in vector lanes
// (ScaledDot, ScaledNibbleDot; with AVX-512 VNNI two q8 or four q4 groups at a time,
// ScaledDotPair and ScaledNibbleDotQuad, and the loop as written for the groups left over);
// other group sizes run the loops as written.
const groupKernels = `
fn rows_q8(f32[] out, i8[] w, f32[] w_s, i8[] x, f32[] x_s, i64 rows, i64 cols, i64 gs) {
    var ng = cols / gs;
    var i = 0;
    while (i < rows) {
        var s = 0.0;
        var g = 0;
        while (g < ng) {
            i32 isum = 0;
            var j = 0;
            while (j < gs) {
                isum += (x[g * gs + j] as i32) * (w[i * cols + g * gs + j] as i32);
                j = j + 1;
            }
            s += (isum as f32) * w_s[i * ng + g] * x_s[g];
            g = g + 1;
        }
        out[i] = s;
        i = i + 1;
    }
}

fn rows_q4(f32[] out, u8[] w, f32[] w_s, i8[] x, f32[] x_s, i64 rows, i64 cols, i64 gs) {
    var ng = cols / gs;
    var hg = gs / 2;
    var hc = cols / 2;
    var i = 0;
    while (i < rows) {
        var row = i * hc;
        var s = 0.0;
        var g = 0;
        while (g < ng) {
            i32 isum = 0;
            var j = 0;
            while (j < hg) {
                var b = w[row + g * hg + j];
                isum += (x[g * gs + j] as i32) * ((b & 15) as i32 - 8) +
                        (x[g * gs + hg + j] as i32) * ((b >> 4) as i32 - 8);
                j = j + 1;
            }
            s += (isum as f32) * w_s[i * ng + g] * x_s[g];
            g = g + 1;
        }
        out[i] = s;
        i = i + 1;
    }
}

// rows_q4 with x split by halves of groups: group g's first half at x[g·gs/2 + j], its
// second half at x[cols/2 + g·gs/2 + j].
fn rows_q4_split(f32[] out, u8[] w, f32[] w_s, i8[] x, f32[] x_s, i64 rows, i64 cols, i64 gs) {
    var ng = cols / gs;
    var hg = gs / 2;
    var hc = cols / 2;
    var i = 0;
    while (i < rows) {
        var row = i * hc;
        var s = 0.0;
        var g = 0;
        while (g < ng) {
            i32 isum = 0;
            var j = 0;
            while (j < hg) {
                var b = w[row + g * hg + j];
                isum += (x[g * hg + j] as i32) * ((b & 15) as i32 - 8) +
                        (x[hc + g * hg + j] as i32) * ((b >> 4) as i32 - 8);
                j = j + 1;
            }
            s += (isum as f32) * w_s[i * ng + g] * x_s[g];
            g = g + 1;
        }
        out[i] = s;
        i = i + 1;
    }
}
`

// TestGroupDots checks the q8 and q4 row loops against Go, with the extreme values, for group
// sizes 32 (on lanes) and 16 and 64 (as written), on both backends, checked and unchecked,
// for this CPU and for one without AVX-512 (lanes without pairs), and for 6, 7 and 8 groups
// per row (192, 224 and 256 columns: whole pairs and quads, and groups left over).
func TestGroupDots(t *testing.T) {
	for _, cols := range []int{192, 224, 256} {
		t.Run(fmt.Sprint(cols), func(t *testing.T) { testGroupDots(t, cols) })
	}
}

func testGroupDots(t *testing.T, cols int) {
	const rows = 5
	rng := rand.New(rand.NewPCG(3, 4))
	x, w8, w4 := groupOperands(rng, rows, cols)
	x[7], w8[7], w4[3] = -128, -128, 0x0F // extremes: −128·−128, nibbles −8 and 7
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		for _, opts := range []compiler.Options{{}, {Unchecked: true}, {March: "x86-64-v3"}} {
			opts.Backend = backend
			lib := kerneltest.Open(t, "groups.sl", []byte(groupKernels), opts)
			for _, gs := range []int{16, 32, 64} {
				ng := cols / gs
				ws, xs := make([]float32, rows*ng), make([]float32, ng)
				for i := range ws {
					ws[i] = float32(rng.Float64()) / 64
				}
				for i := range xs {
					xs[i] = float32(rng.Float64()) / 64
				}
				split := kerneltest.SplitHalves(x, gs) // for rows_q4_split
				for _, name := range []string{"rows_q8", "rows_q4", "rows_q4_split"} {
					q4, weights, input := name != "rows_q8", any(w4), x
					switch name {
					case "rows_q8":
						weights = any(w8)
					case "rows_q4_split":
						input = split
					}
					out := make([]float32, rows)
					kerneltest.Call(t, kerneltest.Func(t, lib, name), out, weights, ws, input, xs, int64(rows), int64(cols), int64(gs))
					for i := range rows {
						want := 0.0
						for g := range ng {
							isum := 0
							for j := range gs {
								wv := 0
								if q4 {
									b := w4[i*cols/2+g*gs/2+j%(gs/2)]
									wv = int(b&15) - 8
									if j >= gs/2 {
										wv = int(b>>4) - 8
									}
								} else {
									wv = int(w8[i*cols+g*gs+j])
								}
								isum += int(x[g*gs+j]) * wv
							}
							want += float64(isum) * float64(ws[i*ng+g]) * float64(xs[g])
						}
						if d := math.Abs(float64(out[i]) - want); d > 1e-5*math.Max(1, math.Abs(want)) {
							t.Errorf("%v unchecked=%v march=%q %s gs=%d: row %d = %g, want %g", backend, opts.Unchecked, opts.March, name, gs, i, out[i], want)
						}
					}
				}
			}
		}
	}
}

// groupOperands returns random inputs of cols bytes and q8 and q4 weights of rows × cols.
func groupOperands(rng *rand.Rand, rows, cols int) (x, w8 []int8, w4 []uint8) {
	x, w8, w4 = make([]int8, cols), make([]int8, rows*cols), make([]uint8, rows*cols/2)
	for i := range x {
		x[i] = int8(rng.IntN(256) - 128)
	}
	for i := range w8 {
		w8[i] = int8(rng.IntN(256) - 128)
	}
	for i := range w4 {
		w4[i] = uint8(rng.IntN(256))
	}
	return x, w8, w4
}

// TestGroupDotsInputBiases checks the grouped q8 and q4 row loops where their inputs' biases
// cannot come from a table made before the rows (package lower, biases.go), on both backends:
// a row loop that writes its input before each row must see each row's input; and inputs
// shorter than the rows, where the table's own range test fails, must give the row loop's
// check error, not a read past the array.
func TestGroupDotsInputBiases(t *testing.T) {
	// rows_q8, writing x[5] before each row
	q8 := groupKernels[strings.Index(groupKernels, "fn rows_q8("):]
	q8 = q8[:strings.Index(q8, "\n}\n")+3]
	rewrites := strings.NewReplacer("fn rows_q8(", "fn rows_q8_rewrites(",
		"while (i < rows) {\n", "while (i < rows) {\n        x[5] = (i * 37 - 100) as i8;\n").Replace(q8)
	const rows, cols, gs = 7, 256, 32
	x, w8, w4 := groupOperands(rand.New(rand.NewPCG(5, 6)), rows, cols)
	ws, xs := make([]float32, rows*cols/gs), make([]float32, cols/gs)
	for i := range ws {
		ws[i] = 1
	}
	for i := range xs {
		xs[i] = 1
	}
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		lib := kerneltest.Open(t, "biases.sl", []byte(groupKernels+rewrites), compiler.Options{Backend: backend})
		input := append([]int8(nil), x...)
		out := make([]float32, rows)
		kerneltest.Call(t, kerneltest.Func(t, lib, "rows_q8_rewrites"), out, w8, ws, input, xs, int64(rows), int64(cols), int64(gs))
		for i := range rows {
			x5 := int8(i*37 - 100)
			want := 0
			for k := range cols {
				v := int(x[k])
				if k == 5 {
					v = int(x5)
				}
				want += v * int(w8[i*cols+k])
			}
			if out[i] != float32(want) {
				t.Errorf("%v rows_q8_rewrites: row %d = %g, want %d", backend, i, out[i], want)
			}
		}
		for _, name := range []string{"rows_q8", "rows_q4", "rows_q4_split"} {
			weights := any(w4)
			if name == "rows_q8" {
				weights = any(w8)
			}
			for _, short := range []int{1, cols / 2} {
				_, err := kerneltest.Func(t, lib, name).Call(make([]float32, rows), weights, ws, x[:cols-short], xs, int64(rows), int64(cols), int64(gs))
				var ce *loader.CheckError
				if !errors.As(err, &ce) || ce.Size != int64(cols-short) {
					t.Errorf("%v %s with %d inputs for %d columns: error %v, want a check of the inputs' size", backend, name, cols-short, cols, err)
				}
			}
		}
	}
}
