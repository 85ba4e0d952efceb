package llama

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkpointBytes returns weights for cfg written as a checkpoint.
func checkpointBytes(t testing.TB, cfg Config, w *Weights, shared bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, cfg, w, shared); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeFile puts data in a fresh temporary file and returns its path.
func writeFile(t testing.TB, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "unshared", true: "shared"}[shared], func(t *testing.T) {
			w := randomModel(t, tiny, 9, 0.5)
			data := checkpointBytes(t, tiny, w, shared)
			// Header, weights without (shared) or with the classifier, and two RoPE tables
			// of seq_len × head_size/2 = 4 × 2.
			wantLen := 28 + 4*(tiny.Params()+2*4*2)
			if shared {
				wantLen -= 4 * 80
			}
			if int64(len(data)) != wantLen {
				t.Fatalf("checkpoint is %d bytes, want %d", len(data), wantLen)
			}
			// The header as llama2.c reads it, the classifier flag in vocab_size's sign.
			wantHdr := []int32{8, 16, 2, 2, 1, -10, 4}
			if shared {
				wantHdr[5] = 10
			}
			gotHdr := make([]int32, 7)
			if err := binary.Read(bytes.NewReader(data), binary.NativeEndian, gotHdr); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantHdr, gotHdr); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			// freq_cis_real[1][0] = cos(1 × frequency 1), after the 1272 floats before wcls.
			cosAt := 28 + 4*(1272+2)
			if got := math.Float32frombits(binary.NativeEndian.Uint32(data[cosAt:])); got != float32(math.Cos(1)) {
				t.Errorf("freq_cis_real[1][0] = %v, want cos(1) = %v", got, math.Cos(1))
			}

			ck, err := Open(writeFile(t, data))
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			if ck.Config != tiny || ck.SharedClassifier != shared {
				t.Errorf("Open: config %+v shared %v, want %+v %v", ck.Config, ck.SharedClassifier, tiny, shared)
			}
			want := *w
			if shared {
				want.Wcls = w.TokenEmb
				if &ck.Weights.Wcls[0] != &ck.Weights.TokenEmb[0] {
					t.Error("shared classifier is not the embedding slice")
				}
			}
			if diff := cmp.Diff(&want, ck.Weights); diff != "" {
				t.Errorf("weights read back (-want +got):\n%s", diff)
			}
			// The mapped weights drive the forward pass like the originals.
			s1, _ := NewState(tiny, nil)
			s2, _ := NewState(tiny, nil)
			for pos, tok := range []int{2, 5, 8} {
				l1, err := Forward(tiny, &want, s1, tok, pos)
				if err != nil {
					t.Fatal(err)
				}
				l2, err := Forward(tiny, ck.Weights, s2, tok, pos)
				if err != nil {
					t.Fatal(err)
				}
				if !cmp.Equal(l1, l2) {
					t.Fatalf("pos %d: logits from the checkpoint differ", pos)
				}
			}
			if err := ck.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if ck.Weights.Wq != nil {
				t.Error("Close left the weights pointing into the unmapped file")
			}
			if err := ck.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestOpenBadFiles(t *testing.T) {
	w := randomModel(t, tiny, 9, 0.5)
	good := checkpointBytes(t, tiny, w, false)
	withHeader := func(fields ...int32) []byte {
		data := bytes.Clone(good)
		for i, f := range fields {
			binary.NativeEndian.PutUint32(data[4*i:], uint32(f))
		}
		return data
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "file is 0 bytes, shorter than the 28-byte header"},
		{"short header", good[:27], "file is 27 bytes, shorter than the 28-byte header"},
		{"zero dim", withHeader(0), "bad header: config: dim is 0, must be positive"},
		{"negative hidden", withHeader(8, -16), "hidden_dim is -16"},
		{"zero layers", withHeader(8, 16, 0), "n_layers is 0"},
		{"zero heads", withHeader(8, 16, 2, 0), "n_heads is 0"},
		{"zero kv heads", withHeader(8, 16, 2, 2, 0), "n_kv_heads is 0"},
		{"zero vocab", withHeader(8, 16, 2, 2, 1, 0), "vocab_size is 0"},
		{"smallest vocab", withHeader(8, 16, 2, 2, 1, math.MinInt32), "truncated"},
		{"zero seq_len", withHeader(8, 16, 2, 2, 1, -10, 0), "seq_len is 0"},
		{"dim not divisible", withHeader(9, 16, 2, 2, 1), "dim 9 is not divisible by n_heads 2"},
		{"kv heads not dividing", withHeader(12, 16, 2, 3, 2), "n_heads 3 is not a multiple of n_kv_heads 2"},
		{"odd head size", withHeader(6, 16, 2, 2, 1), "head size dim/n_heads = 6/2 = 3 is odd"},
		{"newer export", withHeader(exportMagic, 1), `magic "ak42"`},
		{"truncated body", good[:len(good)-4], "truncated: the header describes 5500 bytes but the file has 5496 (4 missing)"},
		{"header only", good[:28], "(5472 missing)"},
		{"too long", append(bytes.Clone(good), 1, 2, 3, 4, 5, 6), "file is 6 bytes longer than the 5500 bytes its header describes"},
		{"classifier flag wrong", withHeader(8, 16, 2, 2, 1, 10), "file is 320 bytes longer"},
		{"absurd sizes", withHeader(1<<30, 1<<30, 1<<30, 2, 2, 1<<30, 1<<30), "config: "},
		{"huge but valid", withHeader(1<<20, 1<<20, 1<<10, 2, 2, -(1 << 20), 2), "truncated: the header describes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ck, err := Open(writeFile(t, tt.data))
			if err == nil {
				ck.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.bin")); err == nil {
		t.Error("Open of a missing file succeeded")
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Open of a directory: %v, want not a regular file", err)
	}
}

func TestWriteRefuses(t *testing.T) {
	w := randomModel(t, tiny, 1, 0.01)
	short := *w
	short.RmsFinal = short.RmsFinal[:7]
	var buf bytes.Buffer
	if err := Write(&buf, tiny, &short, true); err == nil || !strings.Contains(err.Error(), "rms_final_weight has 7 elements") {
		t.Errorf("Write with a short tensor: %v", err)
	}
	if err := Write(&buf, Config{}, w, true); err == nil {
		t.Error("Write accepted an invalid config")
	}
	if buf.Len() != 0 {
		t.Errorf("a refused Write wrote %d bytes", buf.Len())
	}
}

// FuzzOpenHeader writes arbitrary bytes to a file and opens it: Open must return an error or
// a checkpoint whose tensors all lie inside the file, never panic or fault.
func FuzzOpenHeader(f *testing.F) {
	small := Config{Dim: 2, HiddenDim: 3, NLayers: 1, NHeads: 1, NKVHeads: 1, VocabSize: 3, SeqLen: 2}
	w := randomModel(f, small, 1, 1)
	f.Add(checkpointBytes(f, small, w, true))
	f.Add(checkpointBytes(f, small, w, false))
	f.Add(checkpointBytes(f, tiny, randomModel(f, tiny, 2, 1), false))
	f.Add([]byte{})
	f.Add(make([]byte, 28))
	f.Fuzz(func(t *testing.T, data []byte) {
		ck, err := Open(writeFile(t, data))
		if err != nil {
			return
		}
		defer ck.Close()
		if err := ck.Config.Validate(); err != nil {
			t.Fatalf("Open accepted an invalid config: %v", err)
		}
		// Touch the last element of every tensor: it must be mapped.
		for _, b := range weightTensors(ck.Config, ck.Weights) {
			d := *b.data
			if int64(len(d)) != b.len() {
				t.Fatalf("%s has %d elements, want %d", b.name, len(d), b.len())
			}
			_ = d[len(d)-1]
		}
	})
}
