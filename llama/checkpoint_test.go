package llama

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

// fifo makes a named pipe in a fresh temporary directory and returns its path.
func fifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fifo.bin")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// within returns f's result, failing the test if f takes more than 5 s: opening a FIFO for
// reading waits for a writer, and the test must not wait with it.
func within(t *testing.T, name string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still blocks after 5 s", name)
		return nil
	}
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
		{"zero dim", withHeader(0), "bad header (not a llama2.c checkpoint, or a damaged one): config: dim is 0, must be positive"},
		{"GGUF", append([]byte("GGUF\x03\x00\x00\x00"), good[8:]...), "a GGUF file (llama.cpp's format), not a llama2.c checkpoint"},
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
	// Every way in checks the same things and says so with the same words, naming the file.
	openers := []struct {
		name string
		open func(path string) error
	}{
		{"Open", func(path string) error {
			ck, err := Open(path)
			if err == nil {
				ck.Close()
			}
			return err
		}},
		{"Load", func(path string) error {
			ck, err := Load(path, nil, nil)
			if err == nil {
				ck.Close()
			}
			return err
		}},
		{"ReadHeader", func(path string) error { _, err := ReadHeader(path); return err }},
	}
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.bin")
	notDir := filepath.Join(writeFile(t, good), "model.bin") // a path through a regular file
	pipe := fifo(t)
	for _, o := range openers {
		for _, tt := range tests {
			t.Run(o.name+"/"+tt.name, func(t *testing.T) {
				path := writeFile(t, tt.data)
				err := o.open(path)
				if err == nil {
					t.Fatalf("%s succeeded, want an error containing %q", o.name, tt.want)
				}
				if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
					t.Errorf("%s error = %q, want it to name %s and contain %q", o.name, err, path, tt.want)
				}
			})
		}
		for _, tt := range []struct{ path, want string }{
			{missing, "no such file or directory"},
			{notDir, "not a directory"},
			{dir, "not a regular file"},
			{pipe, "not a regular file"},
			{"/dev/zero", "not a regular file"},
		} {
			err := within(t, o.name+"("+tt.path+")", func() error { return o.open(tt.path) })
			if err == nil || !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s(%s) = %v, want an error naming the file and saying %q", o.name, tt.path, err, tt.want)
			}
		}
	}
}

func TestLoad(t *testing.T) {
	for _, shared := range []bool{false, true} {
		data := checkpointBytes(t, tiny, randomModel(t, tiny, 3, 0.5), shared)
		path := writeFile(t, data)
		mapped, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer mapped.Close()
		var allocated []float32
		alloc := func(n int) ([]float32, error) {
			allocated = make([]float32, n)
			return allocated, nil
		}
		var calls []int64
		for _, chunk := range []int{loadChunk, 1000} {
			calls = calls[:0]
			ck, err := load(path, alloc, func(done, total int64) {
				if total != int64(len(data)-headerBytes) {
					t.Errorf("progress total %d, want %d", total, len(data)-headerBytes)
				}
				calls = append(calls, done)
			}, chunk)
			if err != nil {
				t.Fatal(err)
			}
			if ck.Header != mapped.Header {
				t.Errorf("Load header %+v, Open header %+v", ck.Header, mapped.Header)
			}
			if diff := cmp.Diff(mapped.Weights, ck.Weights); diff != "" {
				t.Errorf("loaded weights differ from mapped ones (-mapped +loaded):\n%s", diff)
			}
			if &ck.Weights.TokenEmb[0] != &allocated[0] || len(allocated) != (len(data)-headerBytes)/4 {
				t.Error("the weights are not in the allocator's buffer")
			}
			if shared && &ck.Weights.Wcls[0] != &ck.Weights.TokenEmb[0] {
				t.Error("shared classifier is not the embedding slice")
			}
			wantCalls := (int64(len(data)-headerBytes) + int64(chunk) - 1) / int64(chunk)
			if int64(len(calls)) != wantCalls || calls[len(calls)-1] != int64(len(data)-headerBytes) {
				t.Errorf("chunk %d: progress calls %v, want %d ending at the total", chunk, calls, wantCalls)
			}
			// Nothing refers to the file any more: it may shrink, and there is nothing to check.
			if err := ck.CheckSize(); err != nil {
				t.Errorf("CheckSize of a loaded checkpoint: %v", err)
			}
			if err := ck.Close(); err != nil || ck.Weights.Wq != nil {
				t.Errorf("Close: %v, weights %v", err, ck.Weights.Wq)
			}
		}
	}

	// An allocator's failure, or a wrong length, is reported with the file's name.
	path := writeFile(t, checkpointBytes(t, tiny, randomModel(t, tiny, 3, 0.5), false))
	for _, tt := range []struct {
		alloc Allocator
		want  string
	}{
		{func(int) ([]float32, error) { return nil, errors.New("no memory") }, "allocating 5472 bytes for the weights: no memory"},
		{func(n int) ([]float32, error) { return make([]float32, n-1), nil }, "allocator returned 1367 floats, want 1368"},
	} {
		if _, err := Load(path, tt.alloc, nil); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load = %v, want an error naming the file and saying %q", err, tt.want)
		}
	}
}

// TestShrink truncates checkpoint files: while Load reads one, and after Open mapped one.
func TestShrink(t *testing.T) {
	data := checkpointBytes(t, tiny, randomModel(t, tiny, 3, 0.5), false)
	path := writeFile(t, data)
	// Truncated once the file was checked and its buffer allocated: every chunk past the new
	// end comes up short, whichever goroutine reads it.
	shrink := func(n int) ([]float32, error) {
		if err := os.Truncate(path, 3000); err != nil {
			return nil, err
		}
		return make([]float32, n), nil
	}
	_, err := load(path, shrink, nil, 1000)
	if want := "the file shrank to 3000 bytes while it was read (it had 5500)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Load of a file that shrinks: %v, want %q", err, want)
	}

	// Mapped with a lease: a program that truncates the file waits, CheckSize says so, and
	// the truncation goes on once the checkpoint is closed.
	path = writeFile(t, data)
	ck, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if !ck.Leased() {
		t.Fatalf("no read lease on %s: the file system of the test's temporary directory grants none", path)
	}
	if err := ck.CheckSize(); err != nil {
		t.Fatal(err)
	}
	truncated := make(chan error)
	go func() { truncated <- os.Truncate(path, 100) }()
	want := "checkpoint " + path + ": another program is opening the file for writing or truncating it while it is mapped"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		err := ck.CheckSize()
		if err != nil && strings.Contains(err.Error(), want) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("CheckSize while another truncates the file = %v, want %q", err, want)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(len(data)) {
		t.Fatalf("the file changed before the checkpoint was closed: %v, %v", fi, err)
	}
	_ = ck.Weights.Wcls[len(ck.Weights.Wcls)-1] // the last page is still there
	if err := ck.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-truncated:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the truncation still waits after Close")
	}
	if err := ck.CheckSize(); err != nil {
		t.Errorf("CheckSize after Close: %v", err)
	}

	// Without a lease (the file is open for writing when it is mapped), CheckSize still
	// notices a file that shrank between two checks.
	path = writeFile(t, data)
	writer, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	ck, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if ck.Leased() {
		t.Error("a file open for writing was leased")
	}
	if err := writer.Truncate(int64(len(data)) + 10); err != nil {
		t.Fatal(err)
	}
	if err := ck.CheckSize(); err != nil {
		t.Errorf("CheckSize of a file that grew: %v; the mapping is still backed", err)
	}
	if err := writer.Truncate(100); err != nil {
		t.Fatal(err)
	}
	want = "checkpoint " + path + ": the file shrank from 5500 to 100 bytes while it was mapped"
	if err := ck.CheckSize(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("CheckSize = %v, want %q", err, want)
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

// TestCheckpointQuantize quantizes a mapped checkpoint: the same weights as Quantize on the
// weights in memory, with the mapped file's pages dropped from the process as they are used
// (the mapping's resident size, from /proc/self/smaps, falls from the whole file to a few
// pages), and the mapping still reading the same values afterwards.
func TestCheckpointQuantize(t *testing.T) {
	cfg := Config{Dim: 256, HiddenDim: 768, NLayers: 4, NHeads: 4, NKVHeads: 4, VocabSize: 2000, SeqLen: 8}
	w := randomModel(t, cfg, 4, 0.5)
	path := writeFile(t, checkpointBytes(t, cfg, w, false))
	want, err := Quantize(cfg, w, Q4, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sum := func() (s float64) {
		for _, b := range weightTensors(cfg, c.Weights) {
			for _, v := range *b.data {
				s += float64(v)
			}
		}
		return s
	}
	before := sum()
	size := c.Header.Size
	if rss := mappedRSS(t, path); rss < size*9/10 {
		t.Fatalf("the mapping holds %d bytes after every weight was read, want about the file's %d", rss, size)
	}
	got, err := c.Quantize(Q4, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(want, got) {
		t.Error("the mapped checkpoint quantizes to other weights than the same weights in memory")
	}
	if rss := mappedRSS(t, path); rss > size/20 {
		t.Errorf("the mapping holds %d of the file's %d bytes after quantizing, want at most 5%%", rss, size)
	}
	if after := sum(); after != before {
		t.Errorf("the mapped weights sum to %v after quantizing, %v before", after, before)
	}
}

// mappedRSS returns the resident bytes of this process's mappings of the file at path, from
// /proc/self/smaps.
func mappedRSS(t *testing.T, path string) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var rss int64
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			in = len(f) == 6 && f[5] == path
		case in && len(f) == 3 && f[0] == "Rss:":
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			rss += kb << 10
		}
	}
	return rss
}
