package llama

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"unsafe"
)

// A llama2.c version-2 export (export.py --version 2, the Q8_0 file that runq.c reads) is,
// in the host's byte order:
//
//	header, 256 bytes:
//	   0  uint32  magic 0x616b3432 ("ak42")
//	   4  int32   version, 2
//	   8  int32 × 7  dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
//	  36  uint8   shared_classifier: 1 when the classifier is the token embedding
//	  37  int32   group_size (unaligned: Python's struct.pack puts it right after the byte)
//	  41  zeros up to 256
//	float32 norms: rms_att (n_layers × dim), rms_ffn (n_layers × dim), rms_final (dim)
//	quantized tensors, each its int8 values, then one float32 scale per group_size values:
//	  the token embedding (vocab_size × dim); wq of layers 0 … n_layers-1 (dim × dim each);
//	  then likewise wk, wv (kv_dim × dim), wo (dim × dim), w1 (hidden_dim × dim),
//	  w2 (dim × hidden_dim), w3 (hidden_dim × dim); then the classifier (vocab_size × dim)
//	  unless it is shared.
//
// That is QWeights' Q8 layout tensor by tensor, except that the file interleaves each
// layer's values and scales, where QWeights stacks the layers.
const (
	v2HeaderBytes  = 256
	v2Version      = 2
	v2SharedOffset = 36
	v2GroupOffset  = 37
)

// QCheckpoint is a llama2.c version-2 export read into memory.
type QCheckpoint struct {
	Config           Config
	Weights          *QWeights // Q8, with the file's group size
	SharedClassifier bool      // Weights.Wcls is Weights.TokenEmb
}

// HeaderV2 is what a llama2.c version-2 export says about itself, checked against the file's
// length.
type HeaderV2 struct {
	Path             string // the file
	Config           Config
	SharedClassifier bool  // the classifier is the token embedding and is not stored
	GroupSize        int   // elements per scale
	Size             int64 // the file's length in bytes, exactly what the header describes
}

// HasExportMagic reports whether the file at path starts with "ak42", the magic of llama2.c's
// newer exports (version 1 and 2, which OpenV2 tells apart), rather than the dim of a legacy
// checkpoint (which would have to be 1,634,415,666 to look the same, and which the legacy
// reader refuses). A file shorter than the magic has none; anything but a regular file is an
// error, as in the readers.
func HasExportMagic(path string) (bool, error) {
	f, err := openRegular(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return false, nil
		}
		return false, fmt.Errorf("checkpoint %s: reading the first bytes: %w", path, err)
	}
	return binary.NativeEndian.Uint32(b[:]) == exportMagic, nil
}

// ReadHeaderV2 opens the llama2.c version-2 export at path and checks its header (as OpenV2
// does) and that the file is exactly as long as the header says, without reading the weights.
func ReadHeaderV2(path string) (HeaderV2, error) {
	f, h, err := openV2(path)
	if err != nil {
		return HeaderV2{}, err
	}
	f.Close()
	return h, nil
}

// openV2 opens the version-2 export at path and checks its header and length.
func openV2(path string) (*os.File, HeaderV2, error) {
	var hdr [v2HeaderBytes]byte
	f, size, err := openChecked(path, hdr[:], "version-2 ")
	if err != nil {
		return nil, HeaderV2{}, err
	}
	cfg, shared, gs, err := parseV2Header(hdr)
	if err == nil {
		err = checkLength(size, v2FileSize(cfg, gs, shared), "version-2 ", "the header is wrong")
	}
	if err != nil {
		f.Close()
		return nil, HeaderV2{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return f, HeaderV2{Path: path, Config: cfg, SharedClassifier: shared, GroupSize: gs, Size: size}, nil
}

// OpenV2 reads the llama2.c version-2 export at path into Q8 weights allocated with alloc
// (nil means make; see NewQWeights). It checks the header (magic, version, configuration,
// classifier flag, and a group size that divides dim and hidden_dim) and that the file is
// exactly as long as the header says before it allocates anything. The file is read rather
// than mapped because its layers interleave values and scales, which the kernel's layout
// stacks; reading into the final arrays is the one copy, and leaves no mapping to hold.
func OpenV2(path string, alloc Allocator) (*QCheckpoint, error) {
	return LoadV2(path, alloc, nil)
}

// LoadV2 is OpenV2 with progress: if progress is not nil it is called after every read of at
// most 16 MiB, from the calling goroutine, with the bytes after the header read so far and
// their total (the reads run on GOMAXPROCS goroutines, as Load's). A file that shrinks while
// it is read is an error. Nothing refers to the file after LoadV2 returns.
func LoadV2(path string, alloc Allocator, progress func(done, total int64)) (*QCheckpoint, error) {
	return loadV2(path, alloc, progress, loadChunk)
}

func loadV2(path string, alloc Allocator, progress func(done, total int64), chunk int) (*QCheckpoint, error) {
	f, h, err := openV2(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, shared := h.Config, h.SharedClassifier
	q, err := newQWeights(cfg, Q8, h.GroupSize, alloc, shared)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := readParts(f, v2Parts(cfg, q, shared), v2HeaderBytes, chunk, h.Size, progress); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return &QCheckpoint{Config: cfg, Weights: q, SharedClassifier: shared}, nil
}

// parseV2Header decodes and validates a version-2 header: the configuration, the classifier
// flag and the group size.
func parseV2Header(hdr [v2HeaderBytes]byte) (Config, bool, int, error) {
	if m := binary.NativeEndian.Uint32(hdr[0:]); m != exportMagic {
		return Config{}, false, 0, fmt.Errorf(`bad header: magic is %#08x, want %#08x ("ak42") for a llama2.c version-2 export`, m, exportMagic)
	}
	switch v := int32(binary.NativeEndian.Uint32(hdr[4:])); v {
	case v2Version:
	case 1:
		return Config{}, false, 0, errors.New("bad header: version is 1, the float32 export of llama2.c, which is not supported; version 2 (Q8_0) is, and so is the legacy format (Open)")
	default:
		return Config{}, false, 0, fmt.Errorf("bad header: version is %d; only version 2 (Q8_0) is known", v)
	}
	var f [7]int
	for i := range f {
		f[i] = int(int32(binary.NativeEndian.Uint32(hdr[8+4*i:])))
	}
	cfg := Config{Dim: f[0], HiddenDim: f[1], NLayers: f[2], NHeads: f[3], NKVHeads: f[4], VocabSize: f[5], SeqLen: f[6]}
	if err := cfg.Validate(); err != nil {
		return Config{}, false, 0, fmt.Errorf("bad header: %w", err)
	}
	var shared bool
	switch s := hdr[v2SharedOffset]; s {
	case 0, 1:
		shared = s == 1
	default:
		return Config{}, false, 0, fmt.Errorf("bad header: shared_classifier is %d, want 0 or 1", s)
	}
	gs := int(int32(binary.NativeEndian.Uint32(hdr[v2GroupOffset:])))
	if gs <= 0 {
		return Config{}, false, 0, fmt.Errorf("bad header: group_size is %d, must be positive", gs)
	}
	if err := cfg.ValidateWeights(Q8, gs); err != nil {
		return Config{}, false, 0, fmt.Errorf("bad header: group_size: %w", err)
	}
	return cfg, shared, gs, nil
}

// v2FileSize is the exact length of a version-2 export for a valid configuration and group
// size: the header, then the norms and quantized tensors, which are WeightBytesOf(Q8), less
// the classifier when it is shared. Validate has checked that the float32 sizes, which are
// larger, fit int64.
func v2FileSize(cfg Config, gs int, shared bool) int64 {
	n := v2HeaderBytes + cfg.WeightBytesOf(Q8, gs)
	if shared {
		n -= tensorBytes(Q8, gs, int64(cfg.VocabSize)*int64(cfg.Dim))
	}
	return n
}

// WriteV2 writes Q8 weights for cfg as a llama2.c version-2 export, which OpenV2 and
// llama2.c's runq.c read, with q's group size. With shared, the header says the classifier
// is the token embedding and q.Wcls is not written; otherwise it is stored.
func WriteV2(w io.Writer, cfg Config, q *QWeights, shared bool) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if q == nil {
		return errors.New("checkpoint: nil weights")
	}
	if q.Type != Q8 {
		return fmt.Errorf("checkpoint: a version-2 export holds q8 weights, not %v", q.Type)
	}
	if err := checkQ(cfg, q); err != nil {
		return err
	}
	var hdr [v2HeaderBytes]byte
	binary.NativeEndian.PutUint32(hdr[0:], exportMagic)
	binary.NativeEndian.PutUint32(hdr[4:], v2Version)
	for i, v := range []int{cfg.Dim, cfg.HiddenDim, cfg.NLayers, cfg.NHeads, cfg.NKVHeads, cfg.VocabSize, cfg.SeqLen} {
		if v > math.MaxInt32 {
			return fmt.Errorf("checkpoint: %d does not fit the int32 header", v)
		}
		binary.NativeEndian.PutUint32(hdr[8+4*i:], uint32(v))
	}
	if shared {
		hdr[v2SharedOffset] = 1
	}
	binary.NativeEndian.PutUint32(hdr[v2GroupOffset:], uint32(q.GroupSize))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	for _, p := range v2Parts(cfg, q, shared) {
		if _, err := w.Write(p.data); err != nil {
			return err
		}
	}
	return nil
}

// v2Parts lists the body of a version-2 file in order: the float32 norms, then each quantized
// tensor layer by layer (the embedding and classifier are one layer), its int8 values, then
// its float32 group scales; the classifier not at all when shared.
func v2Parts(cfg Config, q *QWeights, shared bool) []filePart {
	var parts []filePart
	for _, b := range qNorms(cfg, q) {
		parts = append(parts, filePart{b.name, floatBytes(*b.data)})
	}
	gs := q.GroupSize
	for _, b := range qTensors(cfg, q) {
		if shared && b.t == &q.Wcls {
			continue
		}
		layers := 1
		if len(b.shape) == 3 {
			layers = b.shape[0]
		}
		n := int(b.len()) / layers
		for l := range layers {
			parts = append(parts, filePart{b.name, int8Bytes(b.t.Q8[l*n : (l+1)*n])},
				filePart{b.name, floatBytes(b.t.Scales[l*n/gs : (l+1)*n/gs])})
		}
	}
	return parts
}

// floatBytes is s seen as bytes, in the host's order.
func floatBytes(s []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 4*len(s))
}
