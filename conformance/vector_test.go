package conformance

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
)

// vectorKernels are the narrow-integer and half-precision loops of quantized inference.
const vectorKernels = `
fn dot_u8_i8(u8[] a, i8[] b, i64 n) -> i32 {
    i32 acc = 0;
    var j = 0;
    while (j < n) {
        acc += (a[j] as i32) * (b[j] as i32);
        j += 1;
    }
    return acc;
}

fn dot_i8(i8[] a, i8[] b, i64 n) -> i32 {
    i32 acc = 0;
    var j = 0;
    while (j < n) {
        acc += (a[j] as i32) * (b[j] as i32);
        j += 1;
    }
    return acc;
}

fn nibbles(u8[] p, u8[] lo, u8[] hi, i64 n) {
    var i = 0;
    while (i < n) {
        lo[i] = p[i] & 15;
        hi[i] = (p[i] >> 4) & 15;
        i += 1;
    }
}

fn q4dot(u8[] p, i8[] x, i64 n) -> i32 {
    i32 acc = 0;
    var i = 0;
    while (i < n) {
        acc += (((p[i] >> 4) & 15) as i32 - 8) * (x[i] as i32);
        i += 1;
    }
    return acc;
}

fn bf16_dot(bf16[] w, f32[] x, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < n) {
        s += w[i] * x[i];
        i += 1;
    }
    return s;
}

fn f16_dot(f16[] w, f32[] x, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < n) {
        s += w[i] * x[i];
        i += 1;
    }
    return s;
}

fn bf16_load(bf16[] w, f32[] out, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] = w[i];
        i += 1;
    }
}

fn f16_load(f16[] w, f32[] out, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] = w[i];
        i += 1;
    }
}

fn f32_to_bf16(f32[] x, bf16[] out, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] = x[i];
        i += 1;
    }
}
`

// packedF16 matches a conversion of several halves at once: from memory, or into a 256- or
// 512-bit register (the scalar form converts one register element).
const packedF16 = `vcvtph2ps\s+(-?0x[0-9a-f]+)?\(|vcvtph2ps\s+%[xyz]mm\d+, %[yz]mm`

// vectorized names, for each kernel, the packed instructions (x86-64 with AVX2 or AVX-512)
// that show its loop was vectorized: each pattern must match one instruction of the function.
var vectorized = map[string][]string{
	"dot_u8_i8":   {`vpdpwssd|vpmaddwd|vpmulld|vpdpbusd`},
	"dot_i8":      {`vpdpwssd|vpmaddwd|vpmulld|vpdpbusd`},
	"nibbles":     {`vgf2p8affineqb|vpsrlw|vpsrld|vpshufb`, `vpand`},
	"q4dot":       {`vpdpwssd|vpmaddwd|vpmulld|vpdpbusd`},
	"bf16_dot":    {`vpslld|vpunpck|vcvtneebf162ps|vpmovzxwd`, `vfmadd\d+ps|vmulps|vdpbf16ps`},
	"f16_dot":     {packedF16, `vfmadd\d+ps|vmulps`},
	"bf16_load":   {`vpslld|vpunpck|vpmovzxwd`},
	"f16_load":    {packedF16},
	"f32_to_bf16": {`vpsrld|vcvtneps2bf16`},
}

// objdump finds llvm-objdump beside the clang the toolchain uses, or on PATH; a missing tool
// fails the test.
func objdump(t *testing.T) string {
	t.Helper()
	tools := kerneltest.Tools(t)
	cands := []string{filepath.Join(filepath.Dir(tools.Clang.Path), "llvm-objdump")}
	if tools.Clang.Major > 0 {
		cands = append(cands, fmt.Sprintf("llvm-objdump-%d", tools.Clang.Major))
	}
	cands = append(cands, "llvm-objdump")
	for _, c := range cands {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	t.Fatalf("llvm-objdump not found (looked for %v): install llvm-19 (scripts/install-toolchain.sh)", cands)
	return ""
}

// disassemble returns the instructions of each function of the object at path.
func disassemble(t *testing.T, tool, path string) map[string][]string {
	t.Helper()
	out, err := exec.Command(tool, "-d", "--no-show-raw-insn", path).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
	funcs := map[string][]string{}
	header := regexp.MustCompile(`^[0-9a-f]+ <([\w.]+)>:$`)
	var cur string
	for _, line := range strings.Split(string(out), "\n") {
		if m := header.FindStringSubmatch(line); m != nil {
			cur = m[1]
			continue
		}
		if _, insn, ok := strings.Cut(line, "\t"); ok && cur != "" {
			insn = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(insn), "{vex}"))
			funcs[cur] = append(funcs[cur], insn)
		}
	}
	return funcs
}

// TestNarrowLoopsVectorize compiles integer dot products over i8/u8, nibble unpacking and
// bf16/f16 → f32 loops on both backends and checks, with llvm-objdump, that each loop became
// packed vector instructions; it logs the vector instructions LLVM chose.
func TestNarrowLoopsVectorize(t *testing.T) {
	tool := objdump(t)
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		t.Run(backend.String(), func(t *testing.T) {
			obj := kerneltest.Compile(t, "vector.sl", []byte(vectorKernels), compiler.Options{Backend: backend})
			funcs := disassemble(t, tool, obj.Path)
			var names []string
			for name := range vectorized {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				patterns, insns := vectorized[name], funcs[name]
				if len(insns) == 0 {
					t.Errorf("%s: no instructions found", name)
					continue
				}
				for _, p := range patterns {
					re := regexp.MustCompile(`^(` + p + `)`)
					found := false
					for _, insn := range insns {
						found = found || re.MatchString(insn)
					}
					if !found {
						t.Errorf("%s: no instruction matches %q: the loop was not vectorized", name, p)
					}
				}
				t.Logf("%s: %s", name, vectorMnemonics(insns))
			}
		})
	}
}

// vectorMnemonics lists, sorted, the mnemonics of the instructions on vector registers.
func vectorMnemonics(insns []string) string {
	seen := map[string]bool{}
	for _, insn := range insns {
		if fields := strings.Fields(insn); len(fields) > 1 && regexp.MustCompile(`%[xyz]mm`).MatchString(insn) {
			seen[fields[0]] = true
		}
	}
	var list []string
	for m := range seen {
		list = append(list, m)
	}
	sort.Strings(list)
	return strings.Join(list, " ")
}
