package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/simplang/simplang/internal/progress"
	"github.com/simplang/simplang/llama"
)

// cfg is a tiny model whose dimensions are multiples of 32 (and of 16).
var cfg = llama.Config{Dim: 64, HiddenDim: 160, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 512, SeqLen: 32}

// writeF32 writes random float32 weights for c as a legacy checkpoint at path and returns them.
func writeF32(t *testing.T, path string, c llama.Config, shared bool, edit func(*llama.Weights)) *llama.Weights {
	t.Helper()
	w, err := llama.NewWeights(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Randomize(3, nil)
	if shared {
		w.Wcls = w.TokenEmb
	}
	if edit != nil {
		edit(w)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := llama.Write(f, c, w, shared); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestWritesExport quantizes float32 checkpoints (shared and separate classifiers, groups of
// 32 and 16) and reads the exports back: the header and every array must be those of
// llama.Quantize on the same weights, the file readable by others, and nothing else left in
// the directory.
func TestWritesExport(t *testing.T) {
	for _, tc := range []struct {
		shared bool
		group  int
	}{{false, 32}, {true, 32}, {true, 16}} {
		dir := t.TempDir()
		in, out := filepath.Join(dir, "f32.bin"), filepath.Join(dir, "q80.bin")
		w := writeF32(t, in, cfg, tc.shared, nil)
		var stderr bytes.Buffer
		if err := run(options{checkpoint: in, out: out, group: tc.group}, &stderr); err != nil {
			t.Fatal(err)
		}
		if want := "quantize: wrote " + out + " ("; !strings.HasPrefix(stderr.String(), want) || !strings.Contains(stderr.String(), "q8, groups of ") {
			t.Errorf("stderr %q, want it to start %q and name the groups", stderr.String(), want)
		}
		ck, err := llama.OpenV2(out, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ck.Config != cfg || ck.SharedClassifier != tc.shared || ck.Weights.GroupSize != tc.group {
			t.Errorf("shared %v, groups of %d: read back %+v, shared %v, groups of %d", tc.shared, tc.group, ck.Config, ck.SharedClassifier, ck.Weights.GroupSize)
		}
		want, err := llama.Quantize(cfg, w, llama.Q8, tc.group, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ck.Weights, want) {
			t.Errorf("shared %v, groups of %d: the export's weights differ from llama.Quantize's", tc.shared, tc.group)
		}
		st, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("export mode %v, want -rw-r--r--", st.Mode().Perm())
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 2 {
			t.Errorf("the directory holds %d files, want the checkpoint and the export", len(entries))
		}
	}
}

// TestProgress checks that a large checkpoint's quantization shows its progress (in a log: at
// 25, 50 and 75%), then the summary line.
func TestProgress(t *testing.T) {
	defer func(b int64) { progress.MinBytes = b }(progress.MinBytes)
	progress.MinBytes = 0
	dir := t.TempDir()
	in := filepath.Join(dir, "f32.bin")
	writeF32(t, in, cfg, false, nil)
	var stderr bytes.Buffer
	if err := run(options{checkpoint: in, out: filepath.Join(dir, "q80.bin"), group: 32}, &stderr); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "quantizing "+in+" to q8: ") || !strings.HasPrefix(lines[len(lines)-1], "quantize: wrote ") {
		t.Errorf("stderr %q, want progress lines then the summary", lines)
	}
}

// TestRefuses gives quantize what it cannot do: each error names the file and the field,
// and no export (nor a temporary file) is left behind.
func TestRefuses(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "f32.bin")
	writeF32(t, good, cfg, false, nil)
	export := filepath.Join(dir, "q80.bin")
	if err := run(options{checkpoint: good, out: export, group: 32}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(dir, "f32-48.bin")
	writeF32(t, odd, llama.Config{Dim: 48, HiddenDim: 128, NLayers: 1, NHeads: 4, NKVHeads: 4, VocabSize: 64, SeqLen: 8}, false, nil)
	nan := filepath.Join(dir, "nan.bin")
	writeF32(t, nan, cfg, false, func(w *llama.Weights) { w.W2[5] = float32(math.NaN()) })
	out := filepath.Join(dir, "out.bin")
	for _, tc := range []struct {
		name string
		o    options
		want string
	}{
		{"missing", options{checkpoint: filepath.Join(dir, "none.bin"), out: out, group: 32}, "none.bin"},
		{"an export", options{checkpoint: export, out: out, group: 32}, "checkpoint " + export + " is a llama2.c export already"},
		{"itself", options{checkpoint: good, out: good, group: 32}, "-out " + good + " is the input " + good + " itself"},
		{"a directory", options{checkpoint: good, out: dir, group: 32}, "-out " + dir + " is a directory"},
		{"no directory", options{checkpoint: good, out: filepath.Join(dir, "no", "q.bin"), group: 32}, "directory " + filepath.Join(dir, "no") + " does not exist"},
		{"group not dividing dim", options{checkpoint: odd, out: out, group: 32}, "-group 32: checkpoint " + odd + ": q8: dim 48 is not a multiple of the group size 32"},
		{"NaN weight", options{checkpoint: nan, out: out, group: 32}, "checkpoint " + nan + ": quantize: w2 element 5 is NaN"},
	} {
		err := run(tc.o, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the directory holds %v, want only the four inputs", names)
	}
	for _, args := range [][]string{
		{"-out", out},
		{"-checkpoint", good},
		{"-checkpoint", good, "-out", out, "-group", "0"},
		{"-checkpoint", good, "-out", out, "extra"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	if o, err := parseFlags([]string{"-checkpoint", good, "-out", out}, &bytes.Buffer{}); err != nil || o.group != 32 {
		t.Errorf("parseFlags: %+v, %v; want groups of 32", o, err)
	}
}
