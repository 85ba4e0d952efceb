package llama

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// v2Bytes returns q8 weights for cfg written as a version-2 export.
func v2Bytes(t testing.TB, cfg Config, q *QWeights, shared bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteV2(&buf, cfg, q, shared); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// randomQ8 returns random q8 weights for cfg with groups of gs.
func randomQ8(t testing.TB, cfg Config, gs int, seed uint64) *QWeights {
	t.Helper()
	q, err := NewQWeights(cfg, Q8, gs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Randomize(cfg, seed, nil); err != nil {
		t.Fatal(err)
	}
	return q
}

func TestV2RoundTrip(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "unshared", true: "shared"}[shared], func(t *testing.T) {
			q := randomQ8(t, quantCfg, 16, 4)
			data := v2Bytes(t, quantCfg, q, shared)
			// quantCfg: 68160 elements, 320 of them norms; 67840 quantized in 4240 groups
			// of 16. Shared: without the classifier's 3200 values and 200 scales.
			wantLen := 256 + 4*320 + 67840 + 4*4240
			if shared {
				wantLen -= 3200 + 4*200
			}
			if len(data) != wantLen {
				t.Fatalf("export is %d bytes, want %d", len(data), wantLen)
			}
			// The header as runq.c reads it.
			if got := binary.NativeEndian.Uint32(data); got != 0x616b3432 || string(data[:4]) != "24ka" {
				t.Errorf("magic %#x %q", got, data[:4])
			}
			var fields [8]int32
			binary.Read(bytes.NewReader(data[4:36]), binary.NativeEndian, &fields)
			if diff := cmp.Diff([8]int32{2, 64, 96, 2, 4, 2, 50, 8}, fields); diff != "" {
				t.Errorf("version and config (-want +got):\n%s", diff)
			}
			if data[36] != map[bool]byte{false: 0, true: 1}[shared] || binary.NativeEndian.Uint32(data[37:]) != 16 {
				t.Errorf("shared_classifier %d, group_size %d", data[36], binary.NativeEndian.Uint32(data[37:]))
			}
			if !bytes.Equal(data[41:256], make([]byte, 215)) {
				t.Error("header padding is not zero")
			}
			// Layer 1's wq follows layer 0's values (4096) and scales (256 floats): its first
			// value sits after the header, the norms, the embedding (3200 + 4·200) and those.
			at := 256 + 4*320 + 3200 + 4*200 + 4096 + 4*256
			if got := int8(data[at]); got != q.Wq.Q8[4096] {
				t.Errorf("wq layer 1 value 0 in the file = %d, want %d", got, q.Wq.Q8[4096])
			}

			ck, err := OpenV2(writeFile(t, data), nil)
			if err != nil {
				t.Fatal(err)
			}
			if ck.Config != quantCfg || ck.SharedClassifier != shared || ck.Weights.GroupSize != 16 {
				t.Errorf("OpenV2: config %+v shared %v group %d", ck.Config, ck.SharedClassifier, ck.Weights.GroupSize)
			}
			want := *q
			if shared {
				want.Wcls = q.TokenEmb
				if !ck.Weights.sharedClassifier() {
					t.Error("shared classifier is not the embedding's arrays")
				}
			}
			if diff := cmp.Diff(&want, ck.Weights); diff != "" {
				t.Errorf("weights read back (-want +got):\n%s", diff)
			}
			// Written again, byte for byte.
			if again := v2Bytes(t, quantCfg, ck.Weights, shared); !bytes.Equal(again, data) {
				t.Error("writing the weights read back gives another file")
			}
		})
	}
}

// TestV2Allocator checks that OpenV2 allocates through the allocator it is given.
func TestV2Allocator(t *testing.T) {
	data := v2Bytes(t, quantCfg, randomQ8(t, quantCfg, 32, 1), true)
	var floats int
	ck, err := OpenV2(writeFile(t, data), func(n int) ([]float32, error) {
		floats += n
		return make([]float32, n), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (len(data) - 256) / 4; floats != want {
		t.Errorf("allocated %d floats, want the %d of the file's body", floats, want)
	}
	if _, err := ForwardQ(ck.Config, ck.Weights, mustState(t, ck.Config), 3, 0); err != nil {
		t.Error(err)
	}
}

func mustState(t testing.TB, cfg Config) *State {
	t.Helper()
	s, err := NewState(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenV2BadFiles(t *testing.T) {
	good := v2Bytes(t, quantCfg, randomQ8(t, quantCfg, 32, 2), false)
	at := func(off int, v uint32) []byte {
		data := bytes.Clone(good)
		binary.NativeEndian.PutUint32(data[off:], v)
		return data
	}
	field := func(i int, v int32) []byte { return at(8+4*i, uint32(v)) }
	sharedFlag := func(b byte) []byte {
		data := bytes.Clone(good)
		data[36] = b
		return data
	}
	size := len(good)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "file is 0 bytes, shorter than the 256-byte version-2 header"},
		{"short header", good[:255], "file is 255 bytes"},
		{"legacy checkpoint", at(0, 64), `bad header: magic is 0x00000040, want 0x616b3432 ("ak42")`},
		{"version 1", at(4, 1), "bad header: version is 1, the float32 export"},
		{"version 3", at(4, 3), "bad header: version is 3; only version 2 (Q8_0) is known"},
		{"zero dim", field(0, 0), "bad header: config: dim is 0, must be positive"},
		{"negative hidden", field(1, -96), "hidden_dim is -96"},
		{"zero layers", field(2, 0), "n_layers is 0"},
		{"kv heads not dividing", field(4, 3), "n_heads 4 is not a multiple of n_kv_heads 3"},
		{"negative vocab", field(5, -50), "vocab_size is -50"},
		{"zero seq_len", field(6, 0), "seq_len is 0"},
		{"absurd sizes", at(8, 1<<30), "config: "},
		{"shared flag", sharedFlag(2), "bad header: shared_classifier is 2, want 0 or 1"},
		{"wrong shared flag", sharedFlag(1), "file is 3600 bytes longer than the"},
		{"zero group", at(37, 0), "bad header: group_size is 0, must be positive"},
		{"negative group", at(37, 0xFFFFFFE0), "bad header: group_size is -32"},
		{"group not dividing dim", at(37, 48), "bad header: group_size: q8: dim 64 is not a multiple of the group size 48"},
		{"group not dividing hidden", at(37, 64), "bad header: group_size: q8: hidden_dim 96 is not a multiple of the group size 64"},
		{"group too large", at(37, 1<<20), "group size 1048576 is outside [1, 65536]"},
		{"smaller group", at(37, 16), "truncated: the version-2 header describes"},
		{"truncated body", good[:size-1], "(1 missing)"},
		{"header only", good[:256], "truncated"},
		{"too long", append(bytes.Clone(good), 0), "file is 1 bytes longer"},
		{"more layers", field(2, 3), "truncated"},
		{"huge but valid", field(1, 1<<28), "truncated: the version-2 header describes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.data)
			_, err := OpenV2(path, nil)
			if err == nil {
				t.Fatalf("OpenV2 succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("OpenV2 error = %q, want it to name the file and contain %q", err, tt.want)
			}
		})
	}
	if _, err := OpenV2(filepath.Join(t.TempDir(), "missing.bin"), nil); err == nil {
		t.Error("OpenV2 of a missing file succeeded")
	}
	for _, path := range []string{t.TempDir(), fifo(t), "/dev/zero"} {
		err := within(t, "OpenV2("+path+")", func() error { _, err := OpenV2(path, nil); return err })
		if want := "checkpoint " + path + ": not a regular file"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("OpenV2(%s): %v, want %q", path, err, want)
		}
		err = within(t, "ReadHeaderV2("+path+")", func() error { _, err := ReadHeaderV2(path); return err })
		if want := "checkpoint " + path + ": not a regular file"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadHeaderV2(%s): %v, want %q", path, err, want)
		}
	}
	// The legacy reader points at this one.
	if _, err := Open(writeFile(t, good)); err == nil || !strings.Contains(err.Error(), "OpenV2 reads version 2") {
		t.Errorf("Open of a version-2 file: %v", err)
	}
}

func TestWriteV2Refuses(t *testing.T) {
	q4, err := NewQWeights(quantCfg, Q4, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	short := *randomQ8(t, quantCfg, 32, 1)
	short.Wv.Q8 = short.Wv.Q8[:5]
	var buf bytes.Buffer
	for _, tt := range []struct {
		name string
		cfg  Config
		q    *QWeights
		want string
	}{
		{"q4", quantCfg, q4, "a version-2 export holds q8 weights, not q4"},
		{"nil", quantCfg, nil, "nil weights"},
		{"short", quantCfg, &short, "weights: wv (2 x 32 x 64, q8) has 5 values, want 4096"},
		{"invalid config", Config{}, q4, "config: dim is 0"},
	} {
		if err := WriteV2(&buf, tt.cfg, tt.q, false); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: WriteV2 error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("a refused WriteV2 wrote %d bytes", buf.Len())
	}
}

// FuzzOpenV2 writes arbitrary bytes to a file and reads it as a version-2 export: OpenV2 must
// return an error or weights that pass the checks of ForwardQ and whose last elements can be
// read, never panic or read out of range; and what it reads must write back to the same file.
func FuzzOpenV2(f *testing.F) {
	small := Config{Dim: 4, HiddenDim: 6, NLayers: 1, NHeads: 2, NKVHeads: 1, VocabSize: 3, SeqLen: 2}
	q := randomQ8(f, small, 2, 1)
	f.Add(v2Bytes(f, small, q, true))
	f.Add(v2Bytes(f, small, q, false))
	f.Add(v2Bytes(f, quantCfg, randomQ8(f, quantCfg, 32, 2), true))
	f.Add([]byte{})
	f.Add(make([]byte, 256))
	f.Fuzz(func(t *testing.T, data []byte) {
		ck, err := OpenV2(writeFile(t, data), nil)
		if err != nil {
			return
		}
		if err := checkQ(ck.Config, ck.Weights); err != nil {
			t.Fatalf("OpenV2 accepted weights that ForwardQ refuses: %v", err)
		}
		for _, b := range qTensors(ck.Config, ck.Weights) {
			_, _ = b.t.Q8[len(b.t.Q8)-1], b.t.Scales[len(b.t.Scales)-1]
		}
		var buf bytes.Buffer
		if err := WriteV2(&buf, ck.Config, ck.Weights, ck.SharedClassifier); err != nil {
			t.Fatal(err)
		}
		// Everything but the header padding, which is not read, comes back.
		if got := buf.Bytes(); !bytes.Equal(got[:41], data[:41]) || !bytes.Equal(got[256:], data[256:]) {
			t.Fatal("the weights read write back to another file")
		}
	})
}

// TestLoadV2Progress reads an export in small chunks: the progress reaches the body's size
// in steps, ReadHeaderV2 agrees with what was read, and a file that shrinks while it is read
// is an error naming the file and the tensor.
func TestLoadV2Progress(t *testing.T) {
	q := randomQ8(t, quantCfg, 16, 3)
	data := v2Bytes(t, quantCfg, q, false)
	path := writeFile(t, data)
	h, err := ReadHeaderV2(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := (HeaderV2{Path: path, Config: quantCfg, GroupSize: 16, Size: int64(len(data))}); h != want {
		t.Errorf("ReadHeaderV2 = %+v, want %+v", h, want)
	}
	var calls int
	var last int64
	ck, err := loadV2(path, nil, func(done, total int64) {
		if done <= last || total != int64(len(data)-256) {
			t.Fatalf("progress %d of %d after %d", done, total, last)
		}
		calls++
		last = done
	}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if last != int64(len(data)-256) || calls < len(data)/1000 {
		t.Errorf("progress ended at %d after %d calls, want %d in at least %d", last, calls, len(data)-256, len(data)/1000)
	}
	if diff := cmp.Diff(q, ck.Weights); diff != "" {
		t.Errorf("weights read in chunks (-want +got):\n%s", diff)
	}

	// Truncated once the file was checked, as its buffers are allocated: every chunk past the
	// new end comes up short, whichever goroutine reads it.
	shrink := func(n int) ([]float32, error) {
		if err := os.Truncate(path, 5000); err != nil {
			return nil, err
		}
		return make([]float32, n), nil
	}
	_, err = loadV2(path, shrink, nil, 1000)
	if err == nil || !strings.Contains(err.Error(), "checkpoint "+path+": reading ") || !strings.Contains(err.Error(), "the file shrank to 5000 bytes while it was read") {
		t.Errorf("a file that shrinks while it is read: %v", err)
	}
}

func TestHasExportMagic(t *testing.T) {
	v2 := v2Bytes(t, quantCfg, randomQ8(t, quantCfg, 32, 1), true)
	for _, tt := range []struct {
		name string
		data []byte
		want bool
	}{
		{"version 2", v2, true},
		{"magic only", v2[:4], true},
		{"legacy", []byte{64, 0, 0, 0, 96, 0, 0, 0}, false},
		{"short", v2[:3], false},
		{"empty", nil, false},
	} {
		got, err := HasExportMagic(writeFile(t, tt.data))
		if err != nil || got != tt.want {
			t.Errorf("%s: HasExportMagic = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	if _, err := HasExportMagic(filepath.Join(t.TempDir(), "missing.bin")); err == nil || !strings.Contains(err.Error(), "missing.bin") {
		t.Errorf("missing file: %v", err)
	}
	// Refused before it is opened: a FIFO would block the open until a writer came.
	for _, path := range []string{t.TempDir(), fifo(t), "/dev/zero"} {
		err := within(t, "HasExportMagic("+path+")", func() error { _, err := HasExportMagic(path); return err })
		if want := "checkpoint " + path + ": not a regular file"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("HasExportMagic(%s): %v, want %q", path, err, want)
		}
	}
}
