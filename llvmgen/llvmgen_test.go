package llvmgen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/lower"
)

// The tools the tests compile with: clang 19, and opt and llc — LLVM 14's, which Debian
// machines often carry and which must read this IR too, else LLVM 19's.
var (
	clang = []string{"/usr/lib/llvm-19/bin/clang"}
	opt   = []string{"/usr/bin/opt", "/usr/lib/llvm-19/bin/opt"}
	llc   = []string{"/usr/bin/llc", "/usr/lib/llvm-19/bin/llc"}
)

// need returns the first of paths that exists, failing the test when none does.
func need(t *testing.T, paths []string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("none of %v exists: run scripts/install-toolchain.sh", paths)
	return ""
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

// generate parses and checks src and returns its module text.
func generate(t *testing.T, name, src string, opts lower.Options) (*frontend.File, string) {
	t.Helper()
	f, err := frontend.Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	lf, err := lower.Lower(f, opts)
	if err != nil {
		t.Fatalf("lower %s: %v", name, err)
	}
	ir, err := Generate(lf)
	if err != nil {
		t.Fatalf("generate %s: %v", name, err)
	}
	return f, ir
}

// kernels are the reductions whose vectorization TestVectorized checks.
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
`

// TestVectorized checks that the reductions of a dot product and of a mat-vec row become
// vector code, through clang and through LLVM 14's opt, and fused multiply-adds on x86 CPUs
// that have them.
func TestVectorized(t *testing.T) {
	_, ir := generate(t, "kernels.sl", kernels, lower.Options{})
	dir := t.TempDir()
	ll := filepath.Join(dir, "k.ll")
	if err := os.WriteFile(ll, []byte(ir), 0o644); err != nil {
		t.Fatal(err)
	}
	optIR := run(t, need(t, opt), "-O3", "-mcpu=native", "-S", ll, "-o", "-")
	clangAsm := run(t, need(t, clang), "-O3", "-march=native", "-S", "-Wno-override-module", ll, "-o", "-")
	optBC := filepath.Join(dir, "k.bc")
	run(t, need(t, opt), "-O3", "-mcpu=native", ll, "-o", optBC)
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
		_, ir := generate(t, "kernels.sl", kernels, lower.Options{StrictFP: strict})
		if has := strings.Contains(ir, "reassoc"); has == strict {
			t.Errorf("StrictFP %v: module has reassoc flags: %v, want %v", strict, has, !strict)
		}
		if !strict && !strings.Contains(ir, "fadd reassoc contract float") {
			t.Errorf("float additions lack the reassoc contract flags:\n%s", ir)
		}
	}
}

// TestParallelRegions checks where OpenMP regions are made: for parallel loops (and a
// jammed twin for those of loops.Jam's shape) and for matmul rows when C overlaps neither A
// nor B, never with Options.Serial.
func TestParallelRegions(t *testing.T) {
	src, err := os.ReadFile("../conformance/testdata/parallel.sl")
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
		opts      lower.Options
		regions   int
	}{
		{"parallel", string(src), lower.Options{Unchecked: true}, 7 + 5}, // 5 of them jammed, 1 packing matmul_check's b
		{"checked", string(src), lower.Options{}, 7 + 5 + 9},             // 9 with a checked twin, chosen when a range test fails
		{"serial", string(src), lower.Options{Serial: true}, 0},
		{"aliased matmul", aliased, lower.Options{}, 0},
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
	src, err := os.ReadFile("../conformance/testdata/parallel.sl")
	if err != nil {
		t.Fatal(err)
	}
	_, first := generate(t, "parallel.sl", string(src), lower.Options{})
	for range 3 {
		if _, again := generate(t, "parallel.sl", string(src), lower.Options{}); again != first {
			t.Fatal("two generations of one file differ")
		}
	}
}

// TestDebug checks the line table of Debug: every function, the outlined parallel bodies
// too, has a DISubprogram, and every instruction after the entry block's allocas a location;
// LLVM 14 and 19 accept the module. Without Debug the module has no debug metadata.
func TestDebug(t *testing.T) {
	src, err := os.ReadFile("../conformance/testdata/parallel.sl")
	if err != nil {
		t.Fatal(err)
	}
	_, plain := generate(t, "parallel.sl", string(src), lower.Options{})
	if strings.Contains(plain, "!dbg") || strings.Contains(plain, "!llvm.module.flags") || strings.Contains(plain, "!DI") {
		t.Error("without Debug, the module has debug metadata")
	}
	// The last function ends without a return: its last instructions are located at the
	// end of the module.
	_, ir := generate(t, "testdata/parallel.sl", string(src)+"\nfn last(f32[] a) {\n    a[0] = 1.0;\n}\n", lower.Options{Debug: true})
	for _, want := range []string{
		`!DIFile(filename: "parallel.sl", directory: "testdata")`,
		`!{i32 2, !"Debug Info Version", i32 3}`,
		`!{i32 2, !"Dwarf Version", i32 4}`,
	} {
		if !strings.Contains(ir, want) {
			t.Errorf("the module lacks %s", want)
		}
	}
	defines, entry := 0, false
	for _, line := range strings.Split(ir, "\n") {
		switch {
		case strings.HasPrefix(line, "define "):
			defines++
			if !strings.Contains(line, "!dbg !") {
				t.Errorf("function without a DISubprogram: %s", line)
			}
		case line == "0:":
			entry = true // the allocas and the branch to the code
		case regexp.MustCompile(`^\d+:$`).MatchString(line):
			entry = false
		case strings.HasPrefix(line, "\t") && !entry && !strings.Contains(line, ", !dbg !"):
			t.Errorf("instruction without a location: %s", line)
		}
	}
	if subprograms := strings.Count(ir, "= distinct !DISubprogram("); subprograms != defines || defines < 10 {
		t.Errorf("%d functions, %d subprograms", defines, subprograms)
	}
	ll := filepath.Join(t.TempDir(), "parallel.ll")
	if err := os.WriteFile(ll, []byte(ir), 0o644); err != nil {
		t.Fatal(err)
	}
	need(t, opt)
	for _, opt := range opt {
		if _, err := os.Stat(opt); err == nil {
			run(t, opt, "-passes=verify", "-disable-output", ll)
		}
	}
}
