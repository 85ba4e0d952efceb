package lower

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/simplang/simplang/frontend"
)

// blockRows is a q4 row loop over blocks of eight interleaved groups (blocks.go).
const blockRows = `fn f(f32[] out, u8[] w, f16[] w_s, i8[] x, f32[] x_s, i32[] x_sum, i64 rows, i64 nb, i64 runs) {
    var bb = 32 * runs;
    var hc = nb * bb;
    var i = 0;
    while (i < rows) {
        var s = 0.0;
        var b = 0;
        while (b < nb) {
            var l = 0;
            while (l < 8) {
                i32 isum = 0;
                var r = 0;
                while (r < runs) {
                    var k = 0;
                    while (k < 4) {
                        var v = w[i * hc + bb * b + 32 * r + 4 * l + k];
                        isum += (x[bb * b + 32 * r + 4 * l + k] as i32) * ((v & 15) as i32) +
                                (x[hc + bb * b + 32 * r + 4 * l + k] as i32) * ((v >> 4) as i32);
                        k = k + 1;
                    }
                    r = r + 1;
                }
                s += ((isum - x_sum[8 * b + l]) as f32) * w_s[i * 8 * nb + 8 * b + l] * x_s[8 * b + l];
                l = l + 1;
            }
            b = b + 1;
        }
        out[i] = s;
        i = i + 1;
    }
}`

// TestNibbleBlocksRecognised looks for the NibbleBlockDot calls that lowering writes for the
// loop over blocks, checked or not, with AVX-512 VNNI: some (one in each copy of the row loop
// whose accesses are proven in range) for the shape of blocks.go, none for loops that only
// look like it, none without VNNI or under strict-fp.
func TestNibbleBlocksRecognised(t *testing.T) {
	cases := []struct {
		name, old, new string
		dots           bool
	}{
		{"blocks", "", "", true},
		{"runs 64 bytes apart", "32 * r", "64 * r", false},
		{"groups 8 bytes apart", "4 * l", "8 * l", false},
		{"16 groups", "l < 8", "l < 16", false},
		{"biased nibbles", "((v >> 4) as i32)", "((v >> 4) as i32 - 8)", false},
		{"no input biases", "(isum - x_sum[8 * b + l]) as f32", "isum as f32", false},
		{"bias per block", "x_sum[8 * b + l]", "x_sum[8 * b]", false},
		{"scale read with a stride", "x_s[8 * b + l]", "x_s[8 * b + 2 * l]", false},
		{"sum read in the block", "b = b + 1;", "b = b + 1; out[0] = s;", false},
	}
	for _, c := range cases {
		src := strings.Replace(blockRows, c.old, c.new, -1)
		if src == blockRows && c.old != "" {
			t.Fatalf("%s: %q is not in the kernel", c.name, c.old)
		}
		for _, unchecked := range []bool{false, true} {
			lf := mustLower(t, "blocks.sl", src, Options{Unchecked: unchecked, AVX512VNNI: true, AVX512BW: true})
			if n := countCalls(lf.Funcs[0].Body, frontend.NibbleBlockDot); (n > 0) != c.dots {
				t.Errorf("%s (unchecked %v): %d NibbleBlockDot calls, want some: %v", c.name, unchecked, n, c.dots)
			}
		}
	}
	for _, opts := range []Options{{AVX512BW: true}, {StrictFP: true, AVX512VNNI: true, AVX512BW: true}} {
		if n := countCalls(mustLower(t, "blocks.sl", blockRows, opts).Funcs[0].Body, frontend.NibbleBlockDot); n != 0 {
			t.Errorf("%+v: %d NibbleBlockDot calls, want none", opts, n)
		}
	}
}

// TestNibbleBlocksInQ4Kernels finds NibbleBlockDot in every q4 mat-vec of the decode and
// prefill kernels, as compiled for a CPU with AVX-512 VNNI: their rows are stored in blocks.
func TestNibbleBlocksInQ4Kernels(t *testing.T) {
	for file, funcs := range map[string][]string{
		"../kernels/llama2_q4.sl":         {"matvec_q4", "matvec2_q4", "qkv_q4"},
		"../kernels/llama2_prefill_q4.sl": {"matvec_q4", "matmul_q4"},
	} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lf := mustLower(t, file, string(src), Options{AVX512VNNI: true, AVX512BW: true})
		for _, name := range funcs {
			i := slices.IndexFunc(lf.Funcs, func(f *Func) bool { return f.Name == name })
			if i < 0 {
				t.Fatalf("%s: no %s", file, name)
			}
			if n := countCalls(lf.Funcs[i].Body, frontend.NibbleBlockDot); n == 0 {
				t.Errorf("%s: %s has no NibbleBlockDot", file, name)
			}
		}
	}
}
