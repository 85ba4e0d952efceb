package mlirgen

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/lower"
)

func generate(t *testing.T, name, src string, opts lower.Options) string {
	t.Helper()
	f, err := frontend.Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	lf, err := lower.Lower(f, opts)
	if err != nil {
		t.Fatalf("lower %s: %v", name, err)
	}
	text, err := Generate(lf)
	if err != nil {
		t.Fatalf("generate %s: %v", name, err)
	}
	return text
}

const dot = `fn dot(f32[] a, f32[] b, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < n) {
        s += a[i] * b[i];
        i = i + 1;
    }
    return s;
}
`

func TestStrictFP(t *testing.T) {
	for _, strict := range []bool{false, true} {
		text := generate(t, "dot.sl", dot, lower.Options{StrictFP: strict})
		if has := strings.Contains(text, "fastmath<reassoc,contract>"); has == strict {
			t.Errorf("StrictFP %v: reassociation flags present: %v", strict, has)
		}
	}
}

// TestCountedLoop checks that a counted while loop becomes scf.for carrying its sum.
func TestCountedLoop(t *testing.T) {
	text := generate(t, "dot.sl", dot, lower.Options{})
	if !regexp.MustCompile(`scf\.for %\d+ = %\d+ to %\d+ step %\d+ iter_args\(%\d+ = %\d+\) -> \(f32\)`).MatchString(text) || strings.Contains(text, "scf.while") {
		t.Errorf("the counted loop did not become scf.for with one f32 iter_arg:\n%s", text)
	}
}

// TestParallelLoops checks where omp.parallel appears: for loops with independent iterations
// (each guarded by the work test, with a serial twin; those of loops.Jam's shape with a
// jammed twin too) and matmul rows with the packing of b, never with Serial.
func TestParallelLoops(t *testing.T) {
	src, err := os.ReadFile("../conformance/testdata/parallel.sl")
	if err != nil {
		t.Fatal(err)
	}
	aliased := "fn square(f32[] a, i64 n) {\n    matmul(a, a, a, n, n, n);\n}\n"
	for _, tc := range []struct {
		name, src string
		opts      lower.Options
		parallel  int
	}{
		{"parallel", string(src), lower.Options{Unchecked: true}, 7 + 5}, // 5 of them jammed, 1 packing matmul_check's b
		{"checked", string(src), lower.Options{}, 7 + 5 + 9},             // 9 with a checked twin, chosen when a range test fails
		{"serial", string(src), lower.Options{Serial: true}, 0},
		{"aliased matmul", aliased, lower.Options{}, 0},
	} {
		text := generate(t, tc.name+".sl", tc.src, tc.opts)
		if got := strings.Count(text, "omp.parallel"); got != tc.parallel {
			t.Errorf("%s: %d omp.parallel, want %d", tc.name, got, tc.parallel)
		}
	}
}

func TestDeterministicWithLocations(t *testing.T) {
	src, err := os.ReadFile("../conformance/testdata/parallel.sl")
	if err != nil {
		t.Fatal(err)
	}
	first := generate(t, "parallel.sl", string(src), lower.Options{})
	if again := generate(t, "parallel.sl", string(src), lower.Options{}); again != first {
		t.Error("two generations of one file differ")
	}
	for _, line := range strings.Split(first, "\n") {
		if op := strings.TrimSpace(line); strings.HasPrefix(op, "%") && !strings.HasSuffix(op, "{") && !strings.Contains(op, `loc("parallel.sl":`) {
			t.Errorf("operation without a source location: %s", op)
			break
		}
	}
}

// TestDebug checks what Debug adds for the line table: locations on the module (the compile
// unit's file) and on the arguments, and the function's line in its location; without
// Debug, none of these.
func TestDebug(t *testing.T) {
	for _, debug := range []bool{false, true} {
		text := generate(t, "/src/dot.sl", dot, lower.Options{Debug: debug})
		for _, want := range []string{
			`%arg0: memref<?xf32> {llvm.noalias} loc("/src/dot.sl":1:14)`,
			"\n  } loc(\"/src/dot.sl\":1:1)\n",
		} {
			if strings.Contains(text, want) != debug {
				t.Errorf("Debug %v: has %q = %v:\n%s", debug, want, !debug, text)
			}
		}
		if module := strings.HasSuffix(text, "\n} loc(\"/src/dot.sl\":1:1)\n"); module != debug {
			t.Errorf("Debug %v: the module has a location: %v:\n%s", debug, module, text)
		}
	}
}

// FuzzGenerate lowers and generates MLIR for every program the frontend accepts: both must
// succeed, whatever the program (the quantized kernels seed the dot-product rewrites).
func FuzzGenerate(f *testing.F) {
	for _, path := range []string{"../conformance/testdata/parallel.sl", "../conformance/testdata/early_returns.sl", "../kernels/llama2.sl",
		"../conformance/testdata/unsigned.sl", "../conformance/testdata/bits.sl", "../conformance/testdata/conversions.sl",
		"../kernels/llama2_q8.sl", "../kernels/llama2_q4.sl"} {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte(dot))
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := frontend.Parse("fuzz.sl", src)
		if err != nil {
			return
		}
		lf, err := lower.Lower(file, lower.Options{AVX512BW: len(src)%2 == 0}) // both forms of Dot
		if err != nil {
			return
		}
		if _, err := Generate(lf); err != nil {
			t.Fatal(err)
		}
	})
}
