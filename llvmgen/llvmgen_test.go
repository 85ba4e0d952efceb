package llvmgen

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
)

// The tools the tests compile with: clang 19, and LLVM 14's opt and llc.
const (
	clang   = "/usr/lib/llvm-19/bin/clang"
	opt     = "/usr/bin/opt"
	llc     = "/usr/bin/llc"
	ompDir  = "/usr/lib/llvm-19/lib"
	corpus  = "../../shared/corpus/run"
	install = "run scripts/install-toolchain.sh"
)

// route is a way from LLVM IR to a shared object.
type route int

const (
	viaClang   route = iota // clang -O3
	viaClangO0              // clang -O0: the IR as written, unoptimized
	viaOptLLC               // LLVM 14: opt -O3, llc -O3, cc -shared
)

// need returns path, failing the test when the tool is missing.
func need(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: %s", path, install)
	}
	return path
}

func ccPath(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Fatalf("cc is not on PATH: %s", install)
	}
	return cc
}

// run runs a command and returns its standard output, failing the test on an error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

var linkLibs = []string{"-lm", "-L" + ompDir, "-lomp", "-Wl,-rpath," + ompDir, "-Wl,--no-undefined"}

// build compiles LLVM IR text into a shared object and returns its path.
func build(t *testing.T, ir string, r route) string {
	t.Helper()
	dir := t.TempDir()
	ll := filepath.Join(dir, "x.ll")
	so := filepath.Join(dir, "x.so")
	if err := os.WriteFile(ll, []byte(ir), 0o644); err != nil {
		t.Fatal(err)
	}
	switch r {
	case viaClang, viaClangO0:
		level := map[route]string{viaClang: "-O3", viaClangO0: "-O0"}[r]
		run(t, need(t, clang), append([]string{level, "-march=native", "-shared", "-fPIC", "-Wno-override-module", ll, "-o", so}, linkLibs...)...)
	case viaOptLLC:
		bc, obj := filepath.Join(dir, "x.bc"), filepath.Join(dir, "x.o")
		run(t, need(t, opt), "-O3", "-mcpu=native", ll, "-o", bc)
		run(t, need(t, llc), "-O3", "-mcpu=native", "-relocation-model=pic", "-filetype=obj", bc, "-o", obj)
		run(t, ccPath(t), append([]string{"-shared", obj, "-o", so}, linkLibs...)...)
	}
	return so
}

// generate parses and checks src and returns its module text.
func generate(t *testing.T, name, src string, opts Options) (*frontend.File, string) {
	t.Helper()
	f, err := frontend.Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	ir, err := Generate(f, opts)
	if err != nil {
		t.Fatalf("generate %s: %v", name, err)
	}
	return f, ir
}

var (
	driverOnce sync.Once
	driverPath string
	driverErr  error
	driverDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if driverDir != "" {
		os.RemoveAll(driverDir)
	}
	os.Exit(code)
}

// driver returns the C program that calls zero-argument functions (testdata/driver.c).
func driver(t *testing.T) string {
	t.Helper()
	cc := ccPath(t)
	driverOnce.Do(func() {
		if driverDir, driverErr = os.MkdirTemp("", "llvmgen-driver"); driverErr != nil {
			return
		}
		driverPath = filepath.Join(driverDir, "driver")
		out, err := exec.Command(cc, "-O2", "testdata/driver.c", "-o", driverPath, "-ldl").CombinedOutput()
		if err != nil {
			driverErr = fmt.Errorf("building testdata/driver.c: %v\n%s", err, out)
		}
	})
	if driverErr != nil {
		t.Fatal(driverErr)
	}
	return driverPath
}

// resultKinds maps the functions of f to their result kinds.
func resultKinds(f *frontend.File) map[string]abi.Kind {
	kinds := map[string]abi.Kind{}
	for _, fn := range f.Funcs {
		kinds[fn.Name] = fn.Result.Kind
	}
	return kinds
}

// callAll calls the zero-argument functions names of the shared object so and returns their
// results as printed by the driver.
func callAll(t *testing.T, so string, kinds map[string]abi.Kind, names []string) map[string]string {
	t.Helper()
	args := []string{so}
	for _, n := range names {
		args = append(args, n+":"+kinds[n].String())
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(run(t, driver(t), args...)), "\n") {
		name, v, _ := strings.Cut(line, " ")
		got[name] = v
	}
	return got
}

// expectation is one `// expect: NAME() = VALUE [~TOL]` line (see corpus/README.md).
type expectation struct {
	fn, value string
	tol       float64
}

var expectLine = regexp.MustCompile(`(?m)^// expect: (\w+)\(\) = (\S+)(?: ~(\S+))?\s*$`)

func expectations(t *testing.T, src string) []expectation {
	t.Helper()
	var list []expectation
	for _, m := range expectLine.FindAllStringSubmatch(src, -1) {
		e := expectation{fn: m[1], value: m[2], tol: 1e-5}
		if m[3] != "" {
			tol, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Fatalf("bad tolerance in %q: %v", m[0], err)
			}
			e.tol = tol
		}
		list = append(list, e)
	}
	if len(list) == 0 {
		t.Fatal("no // expect: lines")
	}
	return list
}

// agrees compares a printed result with its expectation: integers exactly, floats within the
// relative tolerance.
func agrees(got string, e expectation, kind abi.Kind) bool {
	if !kind.IsFloat() {
		return got == e.value
	}
	g, err1 := strconv.ParseFloat(got, 64)
	w, err2 := strconv.ParseFloat(e.value, 64)
	return err1 == nil && err2 == nil && math.Abs(g-w) <= e.tol*math.Max(1, math.Abs(w))
}

// variants are the configurations every program must pass under.
var variants = []struct {
	name  string
	opts  Options
	route route
}{
	{"clang", Options{}, viaClang},
	{"clang-strict-fp", Options{StrictFP: true}, viaClang},
	{"clang-serial", Options{Serial: true}, viaClang},
	{"clang-O0", Options{}, viaClangO0},
	{"llvm14-opt-llc", Options{}, viaOptLLC},
}

// TestPrograms compiles the shared corpus and this package's test programs through clang
// and through LLVM 14's opt and llc, calls every function named in an expect line and
// checks its result.
func TestPrograms(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus, "*.sl"))
	if len(files) == 0 {
		t.Fatalf("no programs in %s", corpus)
	}
	local, _ := filepath.Glob("testdata/*.sl")
	files = append(files, local...)
	for _, v := range variants {
		for _, path := range files {
			t.Run(v.name+"/"+filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
				t.Parallel()
				src, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				f, ir := generate(t, path, string(src), v.opts)
				exps := expectations(t, string(src))
				var names []string
				for _, e := range exps {
					names = append(names, e.fn)
				}
				kinds := resultKinds(f)
				got := callAll(t, build(t, ir, v.route), kinds, names)
				for _, e := range exps {
					if !agrees(got[e.fn], e, kinds[e.fn]) {
						t.Errorf("%s() = %s, want %s (tolerance %g)", e.fn, got[e.fn], e.value, e.tol)
					}
				}
			})
		}
	}
}

// kernels are small exported kernels for the ABI and code quality tests.
const kernels = `
fn dot(f32[] a, f32[] b, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < n) {
        s += a[i] * b[i];
        i = i + 1;
    }
    return s;
}

fn matvec_row(f32[] w, f32[] x, i64 off, i64 i, i64 n) -> f32 {
    var s = 0.0;
    var j = 0;
    while (j < n) {
        s += w[off + i * n + j] * x[j];
        j = j + 1;
    }
    return s;
}

fn scale(f32[] a, f32 s, i64 n) {
    var i = 0;
    while (i < n) {
        a[i] = a[i] * s;
        i = i + 1;
    }
}

fn pick(bool c, f64 x, f64 y) -> f64 {
    if (c) {
        return x;
    }
    return y;
}

fn any_negative(f32[] a, i64 n) -> bool {
    var i = 0;
    while (i < n) {
        if (a[i] < 0.0) {
            return 1 == 1;
        }
        i = i + 1;
    }
    return 1 == 0;
}
`

// abiProgram calls the kernels from C, directly with the expanded arguments of SPEC §6 and
// through the packed entries, and prints the signature table.
const abiProgram = `#include <stdint.h>
#include <stdio.h>
float dot(float *, float *, int64_t, int64_t, int64_t, float *, float *, int64_t, int64_t, int64_t, int64_t);
void scale(float *, float *, int64_t, int64_t, int64_t, float, int64_t);
double pick(_Bool, double, double);
_Bool any_negative(float *, float *, int64_t, int64_t, int64_t, int64_t);
void _mlir_dot(void **);
void _mlir_pick(void **);
extern const char simplang_signatures[];

int main(void) {
	float a[5] = {1, 2, 3, 4, 5}, b[5] = {1, 1, 1, 1, 2};
	printf("dot %g\n", dot(a, a, 0, 5, 1, b, b, 0, 5, 1, 5));
	float *pa = a, *pb = b, r = 0;
	int64_t zero = 0, five = 5, one = 1;
	void *args[] = {&pa, &pa, &zero, &five, &one, &pb, &pb, &zero, &five, &one, &five, &r};
	_mlir_dot(args);
	printf("packed dot %g\n", r);
	scale(a, a, 0, 5, 1, -2, 5);
	printf("scaled %g %g\n", a[0], a[4]);
	printf("any_negative %d %d\n", any_negative(a, a, 0, 5, 1, 5), any_negative(b, b, 0, 5, 1, 5));
	_Bool c = 0;
	double x = 1.5, y = 2.5, p = 0;
	void *pargs[] = {&c, &x, &y, &p};
	_mlir_pick(pargs);
	printf("pick %g %g\n", pick(1, x, y), p);
	printf("%s", simplang_signatures);
	return 0;
}
`

func TestCABI(t *testing.T) {
	for name, r := range map[string]route{"clang": viaClang, "llvm14-opt-llc": viaOptLLC} {
		t.Run(name, func(t *testing.T) {
			f, ir := generate(t, "kernels.sl", kernels, Options{})
			so := build(t, ir, r)
			dir := t.TempDir()
			main := filepath.Join(dir, "main.c")
			if err := os.WriteFile(main, []byte(abiProgram), 0o644); err != nil {
				t.Fatal(err)
			}
			exe := filepath.Join(dir, "main")
			run(t, ccPath(t), main, so, "-o", exe, "-Wl,-rpath,"+filepath.Dir(so))
			var sigs []abi.Func
			for _, fn := range f.Funcs {
				sigs = append(sigs, fn.Signature())
			}
			want := "dot 20\npacked dot 20\nscaled -2 -10\nany_negative 1 0\npick 1.5 2.5\n" + abi.Encode(sigs)
			if got := run(t, exe); got != want {
				t.Errorf("C program printed\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestVectorized checks that the reductions of a dot product and of a mat-vec row become
// vector code, through clang and through LLVM 14's opt, and fused multiply-adds on x86 CPUs
// that have them.
func TestVectorized(t *testing.T) {
	_, ir := generate(t, "kernels.sl", kernels, Options{})
	dir := t.TempDir()
	ll := filepath.Join(dir, "k.ll")
	if err := os.WriteFile(ll, []byte(ir), 0o644); err != nil {
		t.Fatal(err)
	}
	optIR := run(t, need(t, opt), "-O3", "-mcpu=native", "-S", ll, "-o", "-")
	clangAsm := run(t, need(t, clang), "-O3", "-march=native", "-S", "-Wno-override-module", ll, "-o", "-")
	optBC := filepath.Join(dir, "k.bc")
	run(t, opt, "-O3", "-mcpu=native", ll, "-o", optBC)
	llcAsm := run(t, need(t, llc), "-O3", "-mcpu=native", optBC, "-o", "-")
	vector := regexp.MustCompile(`fadd reassoc contract <(8|16) x float>`)
	fma := regexp.MustCompile(`vfmadd\d+ps\s+.*%[yz]mm`)
	cpu, _ := os.ReadFile("/proc/cpuinfo")
	hasFMA := regexp.MustCompile(`(?m)^flags\s*:.*\bavx2\b.*\bfma\b|^flags\s*:.*\bfma\b.*\bavx2\b`).Match(cpu)
	for _, fn := range []string{"dot", "matvec_row"} {
		if body := section(optIR, "define float @"+fn+"(", "\n}"); !vector.MatchString(body) {
			t.Errorf("opt -O3 did not vectorize the reduction of %s:\n%s", fn, body)
		}
		if !hasFMA {
			continue
		}
		for name, asm := range map[string]string{"clang": clangAsm, "opt+llc": llcAsm} {
			if body := section(asm, "\n"+fn+":", ".Lfunc_end"); !fma.MatchString(body) {
				t.Errorf("%s: %s has no vector fused multiply-add:\n%s", name, fn, body)
			}
		}
	}
}

// section returns the text of s from the first start to the next end after it.
func section(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j]
}

func TestStrictFP(t *testing.T) {
	for _, strict := range []bool{false, true} {
		_, ir := generate(t, "kernels.sl", kernels, Options{StrictFP: strict})
		if has := strings.Contains(ir, "reassoc"); has == strict {
			t.Errorf("StrictFP %v: module has reassoc flags: %v, want %v", strict, has, !strict)
		}
		if !strict && !strings.Contains(ir, "fadd reassoc contract float") {
			t.Errorf("float additions lack the reassoc contract flags:\n%s", ir)
		}
	}
}

// TestParallelRegions checks where OpenMP regions are made: for parallel loops and for
// matmul rows when C overlaps neither A nor B, never with Options.Serial.
func TestParallelRegions(t *testing.T) {
	src, err := os.ReadFile("testdata/parallel.sl")
	if err != nil {
		t.Fatal(err)
	}
	aliased := `
fn square(f32[] a, i64 n) {
    matmul(a, a, a, n, n, n);   // C is A: the rows may not run in parallel
}
`
	tests := []struct {
		name, src string
		opts      Options
		regions   int
	}{
		{"parallel", string(src), Options{}, 4},
		{"serial", string(src), Options{Serial: true}, 0},
		{"aliased matmul", aliased, Options{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ir := generate(t, tt.name+".sl", tt.src, tt.opts)
			if got := strings.Count(ir, "call void (%struct.ident_t*, i32, void (i32*, i32*, ...)*, ...) @__kmpc_fork_call("); got != tt.regions {
				t.Errorf("%d calls of __kmpc_fork_call, want %d", got, tt.regions)
			}
			if got := regexp.MustCompile(`(?m)^define internal void @\w+\.par\.\d+\(`).FindAllString(ir, -1); len(got) != tt.regions {
				t.Errorf("outlined functions %q, want %d", got, tt.regions)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	src, err := os.ReadFile("testdata/parallel.sl")
	if err != nil {
		t.Fatal(err)
	}
	_, first := generate(t, "parallel.sl", string(src), Options{})
	for range 3 {
		if _, again := generate(t, "parallel.sl", string(src), Options{}); again != first {
			t.Fatal("two generations of one file differ")
		}
	}
}
