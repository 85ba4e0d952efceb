package llamakernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/kernels"
)

// cHarness calls llama2_forward with its 129 expanded C arguments, as the report's C++
// harness did: it reads the 24 arrays and 9 integers from in.bin (each array as an int64
// length and its floats), makes the call, and writes the logits to out.bin.
func cHarness() string {
	var params []string
	for range 24 {
		params = append(params, "float *, float *, int64_t, int64_t, int64_t")
	}
	for range 9 {
		params = append(params, "int64_t")
	}
	var args []string
	for i := range 24 {
		args = append(args, fmt.Sprintf("a[%d], a[%d], 0, n[%d], 1", i, i, i))
	}
	for i := range 9 {
		args = append(args, fmt.Sprintf("s[%d]", i))
	}
	return `#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
float llama2_forward(` + strings.Join(params, ",\n\t") + `);
int main(void) {
	FILE *in = fopen("in.bin", "rb");
	float *a[24];
	int64_t n[24], s[9];
	for (int i = 0; i < 24; i++) {
		if (fread(&n[i], 8, 1, in) != 1) return 1;
		a[i] = malloc(n[i] * sizeof(float));
		if (fread(a[i], sizeof(float), n[i], in) != (size_t)n[i]) return 1;
	}
	if (fread(s, 8, 9, in) != 9) return 1;
	fclose(in);
	float r = llama2_forward(` + strings.Join(args, ",\n\t\t") + `);
	FILE *out = fopen("out.bin", "wb");
	fwrite(&r, sizeof(float), 1, out);
	fwrite(a[21], sizeof(float), n[21], out); /* logits */
	fclose(out);
	return 0;
}
`
}

// TestKernelFromC calls llama2_forward from C with its 129 arguments on a tiny
// configuration, then the same step through the loader from Go: the logits must be equal.
func TestKernelFromC(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Fatalf("no C compiler (cc): %v", err)
	}
	src, err := kernels.Source(File)
	if err != nil {
		t.Fatal(err)
	}
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		t.Run(backend.String(), func(t *testing.T) {
			obj := kerneltest.Compile(t, File, src, compiler.Options{Backend: backend})
			dir := t.TempDir()
			data, err := os.ReadFile(obj.Path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "libllama2.so"), data, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte(cHarness()), 0o644); err != nil {
				t.Fatal(err)
			}
			build := exec.Command(cc, "main.c", "-o", "main", "-L.", "-lllama2", "-Wl,-rpath,"+dir)
			build.Dir = dir
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("cc: %v\n%s", err, out)
			}

			cfg := referenceConfigs[1].cfg // grouped-query attention
			w := randomModel(t, cfg, 9, 0.3)
			s := newTestState(t, cfg)
			const token, pos = 7, 0
			arrays := [][]float32{w.TokenEmb, w.RmsAtt, w.RmsFfn, w.Wq, w.Wk, w.Wv, w.Wo, w.W1, w.W2, w.W3, w.RmsFinal, w.Wcls,
				s.X, s.Xb, s.Xb2, s.Q, s.K, s.V, s.Att, s.Hb, s.Hb2, s.Logits, s.KeyCache, s.ValueCache}
			f, err := os.Create(filepath.Join(dir, "in.bin"))
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range arrays {
				binary.Write(f, binary.LittleEndian, int64(len(a)))
				binary.Write(f, binary.LittleEndian, a)
			}
			binary.Write(f, binary.LittleEndian, []int64{token, pos, int64(cfg.Dim), int64(cfg.HiddenDim), int64(cfg.NLayers),
				int64(cfg.NHeads), int64(cfg.NKVHeads), int64(cfg.VocabSize), int64(cfg.SeqLen)})
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			run := exec.Command(filepath.Join(dir, "main"))
			run.Dir = dir
			if out, err := run.CombinedOutput(); err != nil {
				t.Fatalf("C harness: %v\n%s", err, out)
			}
			out, err := os.ReadFile(filepath.Join(dir, "out.bin"))
			if err != nil {
				t.Fatal(err)
			}
			fromC := make([]float32, len(out)/4)
			binary.Read(strings.NewReader(string(out)), binary.LittleEndian, fromC)

			k := compileKernel(t, compiler.Options{Backend: backend})
			fromGo, err := k.Forward(cfg, w, s, token, pos)
			if err != nil {
				t.Fatal(err)
			}
			if len(fromC) != 1+len(fromGo) || fromC[0] != fromGo[0] {
				t.Fatalf("C returned %d values starting %v; Go logits[0] = %v", len(fromC), fromC[:1], fromGo[0])
			}
			for i, v := range fromGo {
				if fromC[1+i] != v && !(math.IsNaN(float64(v)) && math.IsNaN(float64(fromC[1+i]))) {
					t.Fatalf("logit %d: C %v, Go %v", i, fromC[1+i], v)
				}
			}
		})
	}
}
