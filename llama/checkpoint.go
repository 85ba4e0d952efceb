package llama

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"syscall"
	"unsafe"
)

// A llama2.c checkpoint (the legacy, version 0 format of its export.py) is a header of seven
// int32 — dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len — followed by
// the float32 tensors in weightTensors order, with two RoPE tables freq_cis_real and
// freq_cis_imag (seq_len × head_size/2 each, unused) between rms_final_weight and wcls.
// A positive vocab_size means the classifier is the token embedding and wcls is absent; a
// negative one means wcls is stored. Numbers are in the host's byte order, as llama2.c writes
// and reads them (little-endian on x86-64 and arm64).
const headerBytes = 7 * 4

// exportMagic is "ak42", the first word of the newer (version 1 and 2) llama2.c exports.
const exportMagic = 0x616b3432

// Checkpoint is a llama2.c checkpoint mapped read-only into memory. Its Weights point into
// the mapping: writing to them faults, and they are invalid after Close.
type Checkpoint struct {
	Config           Config
	Weights          *Weights
	SharedClassifier bool   // Weights.Wcls is Weights.TokenEmb
	data             []byte // the mapping; nil once closed
}

// Open maps the llama2.c checkpoint at path. It checks the header and that the file is
// exactly as long as the header says, and copies nothing.
func Open(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the mapping outlives the descriptor
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("checkpoint %s: not a regular file", path)
	}
	size := fi.Size()
	if size < headerBytes {
		return nil, fmt.Errorf("checkpoint %s: file is %d bytes, shorter than the %d-byte header", path, size, headerBytes)
	}
	var hdr [headerBytes]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("checkpoint %s: reading header: %w", path, err)
	}
	cfg, shared, err := parseHeader(hdr)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	want, err := fileSize(cfg, shared)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	switch {
	case size < want:
		return nil, fmt.Errorf("checkpoint %s: truncated: the header describes %d bytes but the file has %d (%d missing)", path, want, size, want-size)
	case size > want:
		return nil, fmt.Errorf("checkpoint %s: file is %d bytes longer than the %d bytes its header describes; not a llama2.c legacy checkpoint, or the header is wrong", path, size-want, want)
	}

	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: mmap: %w", path, err)
	}
	// The mapping is page aligned and the header is 28 bytes, so the floats are aligned.
	floats := unsafe.Slice((*float32)(unsafe.Pointer(&data[headerBytes])), (size-headerBytes)/4)
	w := new(Weights)
	tensors := weightTensors(cfg, w)
	body, cls := tensors[:len(tensors)-1], tensors[len(tensors)-1]
	off := int64(0)
	take := func(b buffer) {
		n := b.len()
		*b.data = floats[off : off+n : off+n]
		off += n
	}
	for _, b := range body {
		take(b)
	}
	off += int64(cfg.SeqLen) * int64(cfg.HeadSize()) // freq_cis_real and freq_cis_imag
	if shared {
		w.Wcls = w.TokenEmb
	} else {
		take(cls)
	}
	return &Checkpoint{Config: cfg, Weights: w, SharedClassifier: shared, data: data}, nil
}

// parseHeader decodes and validates the seven header fields.
func parseHeader(hdr [headerBytes]byte) (Config, bool, error) {
	var f [7]int64
	for i := range f {
		f[i] = int64(int32(binary.NativeEndian.Uint32(hdr[4*i:])))
	}
	if f[0] == exportMagic {
		return Config{}, false, errors.New(`header starts with the magic "ak42" of a newer llama2.c export (version 1 or 2); this reader takes the legacy format (export.py --version 0), and OpenV2 reads version 2`)
	}
	shared := f[5] > 0
	if f[5] < 0 {
		f[5] = -f[5]
	}
	cfg := Config{Dim: int(f[0]), HiddenDim: int(f[1]), NLayers: int(f[2]), NHeads: int(f[3]), NKVHeads: int(f[4]), VocabSize: int(f[5]), SeqLen: int(f[6])}
	if err := cfg.Validate(); err != nil {
		return Config{}, false, fmt.Errorf("bad header: %w", err)
	}
	return cfg, shared, nil
}

// fileSize is the exact length of a checkpoint for a valid cfg. The RoPE tables are smaller
// than the KV cache, so Validate has already checked that the sum fits int64.
func fileSize(cfg Config, shared bool) (int64, error) {
	tensors := weightTensors(cfg, &Weights{})
	if shared {
		tensors = tensors[:len(tensors)-1]
	}
	floats := int64(cfg.SeqLen) * int64(cfg.HeadSize()) // the two RoPE tables
	for _, b := range tensors {
		floats += b.len()
	}
	bytes := headerBytes + 4*floats
	if bytes > math.MaxInt {
		return 0, fmt.Errorf("bad header: the model it describes (%d bytes) is too large for this platform to map", bytes)
	}
	return bytes, nil
}

// Close unmaps the checkpoint and clears its Weights; closing twice does nothing.
func (c *Checkpoint) Close() error {
	if c.data == nil {
		return nil
	}
	err := syscall.Munmap(c.data)
	c.data = nil
	*c.Weights = Weights{}
	return err
}

// Write writes weights for cfg as a llama2.c legacy checkpoint that Open reads back. With
// shared, the header says the classifier is the token embedding and weights.Wcls is not
// written; otherwise it is stored. The RoPE tables are written with their usual values.
func Write(w io.Writer, cfg Config, weights *Weights, shared bool) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if weights == nil {
		return errors.New("checkpoint: nil weights")
	}
	if err := check("weights", weightTensors(cfg, weights)); err != nil {
		return err
	}
	hdr := []int{cfg.Dim, cfg.HiddenDim, cfg.NLayers, cfg.NHeads, cfg.NKVHeads, cfg.VocabSize, cfg.SeqLen}
	if !shared {
		hdr[5] = -hdr[5]
	}
	var buf [headerBytes]byte
	for i, v := range hdr {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return fmt.Errorf("checkpoint: %d does not fit the int32 header", v)
		}
		binary.NativeEndian.PutUint32(buf[4*i:], uint32(int32(v)))
	}
	if _, err := w.Write(buf[:]); err != nil {
		return err
	}

	tensors := weightTensors(cfg, weights)
	body, cls := tensors[:len(tensors)-1], tensors[len(tensors)-1]
	for _, b := range body {
		if err := writeFloats(w, *b.data); err != nil {
			return err
		}
	}
	cos, sin := ropeTables(cfg)
	if err := writeFloats(w, cos); err != nil {
		return err
	}
	if err := writeFloats(w, sin); err != nil {
		return err
	}
	if !shared {
		return writeFloats(w, *cls.data)
	}
	return nil
}

// writeFloats writes s in the host's byte order.
func writeFloats(w io.Writer, s []float32) error {
	if len(s) == 0 {
		return nil
	}
	_, err := w.Write(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s)))
	return err
}

// ropeTables returns cos and sin of pos × freq_i for every position and pair i of a head,
// (seq_len, head_size/2) each: the legacy tables a checkpoint carries.
func ropeTables(cfg Config) (cos, sin []float32) {
	half := cfg.HeadSize() / 2
	cos = make([]float32, cfg.SeqLen*half)
	sin = make([]float32, cfg.SeqLen*half)
	for p := range cfg.SeqLen {
		for i := range half {
			freq := 1 / math.Pow(cfg.Theta(), float64(2*i)/float64(cfg.HeadSize()))
			sn, cs := math.Sincos(float64(p) * freq)
			cos[p*half+i], sin[p*half+i] = float32(cs), float32(sn)
		}
	}
	return cos, sin
}
