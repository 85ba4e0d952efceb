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

// Header is what a checkpoint file says about itself, checked against the file's length.
type Header struct {
	Path             string // the file
	Config           Config
	SharedClassifier bool  // the classifier is the token embedding and is not stored
	Size             int64 // the file's length in bytes, exactly what the header describes
}

// Checkpoint is a llama2.c checkpoint, either mapped read-only from its file (Open) or read
// into memory (Load).
type Checkpoint struct {
	Header
	Weights *Weights // Weights.Wcls is Weights.TokenEmb when SharedClassifier; cleared by Close

	// Mapped checkpoints only: the mapping, the file kept open for CheckSize, and whether the
	// kernel granted a read lease on it.
	data   []byte
	file   *os.File
	leased bool
}

// ReadHeader opens the llama2.c checkpoint at path and checks its header and that the file is
// exactly as long as the header says, without reading the weights.
func ReadHeader(path string) (Header, error) {
	f, h, err := openFile(path)
	if err != nil {
		return Header{}, err
	}
	f.Close()
	return h, nil
}

// openFile opens the checkpoint at path and checks its header and length.
func openFile(path string) (*os.File, Header, error) {
	var hdr [headerBytes]byte
	f, size, err := openChecked(path, hdr[:], "")
	if err != nil {
		return nil, Header{}, err
	}
	h, err := func() (Header, error) {
		cfg, shared, err := parseHeader(hdr)
		if err != nil {
			return Header{}, err
		}
		want, err := fileSize(cfg, shared)
		if err != nil {
			return Header{}, err
		}
		return Header{Path: path, Config: cfg, SharedClassifier: shared, Size: size}, checkLength(size, want, "", "not a llama2.c legacy checkpoint, or the header is wrong")
	}()
	if err != nil {
		f.Close()
		return nil, Header{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return f, h, nil
}

// openRegular opens the checkpoint at path for reading if it is a regular file. The type is
// checked before the open: opening a FIFO waits for a writer, forever if none comes, and
// opening a device can act on it. When the check's os.Stat fails, os.Open says why in its
// usual words.
func openRegular(path string) (*os.File, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("checkpoint %s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return f, nil
}

// openChecked opens the checkpoint at path, which must be a regular file of at least
// len(hdr) bytes (openRegular), and reads its first len(hdr) bytes into hdr; kind names the
// header in errors ("", "version-2 "). It returns the open file and its size.
func openChecked(path string, hdr []byte, kind string) (*os.File, int64, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, 0, err
	}
	size, err := func() (int64, error) {
		fi, err := f.Stat()
		switch {
		case err != nil:
			return 0, err
		case !fi.Mode().IsRegular(): // replaced since openRegular looked
			return 0, errors.New("not a regular file")
		case fi.Size() < int64(len(hdr)):
			return 0, fmt.Errorf("file is %d bytes, shorter than the %d-byte %sheader", fi.Size(), len(hdr), kind)
		}
		if _, err := f.ReadAt(hdr, 0); err != nil {
			return 0, fmt.Errorf("reading header: %w", err)
		}
		return fi.Size(), nil
	}()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return f, size, nil
}

// checkLength says how a file of size bytes differs from the want bytes its header describes
// (kind as in openChecked; longer is what to suspect of a file that is longer), or nil.
func checkLength(size, want int64, kind, longer string) error {
	switch {
	case size < want:
		return fmt.Errorf("truncated: the %sheader describes %d bytes but the file has %d (%d missing)", kind, want, size, want-size)
	case size > want:
		return fmt.Errorf("file is %d bytes longer than the %d bytes its %sheader describes; %s", size-want, want, kind, longer)
	}
	return nil
}

// Open maps the llama2.c checkpoint at path read-only and copies nothing; the Weights point
// into the mapping (writing to them faults). It checks the header and that the file is
// exactly as long as the header says.
//
// A mapped file must not shrink: the kernel would fault (SIGBUS) on the first page past the
// new end, and a fault inside native code ends the process. Open therefore takes a read lease
// on the file where the kernel grants one (Leased): then a program that opens the file for
// writing or truncates it waits until the checkpoint is closed, for up to the system's
// lease-break time (/proc/sys/fs/lease-break-time, 45 s by default), and CheckSize reports
// that it is waiting. Call CheckSize before each use of the weights and Close on an error:
// the file cannot shrink under a step that started after a successful check.
func Open(path string) (*Checkpoint, error) {
	f, h, err := openFile(path)
	if err != nil {
		return nil, err
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(h.Size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("checkpoint %s: mmap: %w", path, err)
	}
	// The mapping is page aligned and the header is 28 bytes, so the floats are aligned.
	floats := unsafe.Slice((*float32)(unsafe.Pointer(&data[headerBytes])), (h.Size-headerBytes)/4)
	c := &Checkpoint{Header: h, Weights: slice(h, floats), data: data, file: f, leased: lease(f)}
	// The file may have shrunk between the check of its length and the lease.
	if err := c.CheckSize(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// lease takes a read lease on f and reports whether the kernel granted it. It does not when
// the file is open for writing anywhere, belongs to another user (without CAP_LEASE), or
// lives on a file system without leases. A lease break is announced with SIGIO, which Go
// programs ignore unless they ask for it; CheckSize asks the kernel instead (F_GETLEASE).
func lease(f *os.File) bool {
	_, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_SETLEASE, syscall.F_RDLCK)
	return errno == 0
}

// Leased reports whether the file of a mapped checkpoint is protected by a read lease (see
// Open). Without one, CheckSize still notices a file that shrank between two steps, but not
// one truncated during a step.
func (c *Checkpoint) Leased() bool { return c.leased }

// filePart is a run of a checkpoint's bytes after its header: the memory it fills, and its
// name (if any) for errors.
type filePart struct {
	name string
	data []byte
}

// readParts reads parts, which follow each other in f from byte off, at most chunk bytes a
// read, on GOMAXPROCS goroutines (runParallel: writing fresh memory costs a page fault per
// page, which the threads take in parallel); f had had bytes when it was checked, and a short
// read is it shrinking. progress is as runParallel's, over the parts' bytes.
func readParts(f *os.File, parts []filePart, off int64, chunk int, had int64, progress func(done, total int64)) error {
	var pieces []filePart
	var offs []int64
	first := off
	for _, p := range parts {
		for start := 0; start < len(p.data); start += chunk {
			piece := p.data[start:min(start+chunk, len(p.data))]
			pieces, offs = append(pieces, filePart{p.name, piece}), append(offs, off)
			off += int64(len(piece))
		}
	}
	return runParallel(len(pieces), off-first, func(i int) (int64, error) {
		p, at := pieces[i], offs[i]
		n, err := f.ReadAt(p.data, at)
		switch {
		case n == len(p.data):
			return int64(n), nil
		case err == io.EOF || err == nil:
			err = shrank(f, at+int64(n), had)
		default:
			err = fmt.Errorf("at byte %d: %w", at, err)
		}
		if p.name != "" {
			err = fmt.Errorf("reading %s: %w", p.name, err)
		}
		return 0, err
	}, progress)
}

// shrank is the error for a read of f that stopped short at byte end, f having had had bytes
// when it was checked. It names f's size now, or end if that is unknown (with the file read
// in parallel, end is only where one of the reads stopped).
func shrank(f *os.File, end, had int64) error {
	if fi, err := f.Stat(); err == nil {
		end = fi.Size()
	}
	return fmt.Errorf("the file shrank to %d bytes while it was read (it had %d)", end, had)
}

// Quantize converts the checkpoint's weights as the package's Quantize does. A mapped
// checkpoint drops the pages of the weights already quantized from the process as it goes
// (they stay in the page cache, and a later read maps them again), so that quantizing a
// file takes little more memory than its result. (Advising the mapping as sequential made
// a file not yet in the page cache slower to quantize: 6.6–7.1 s against 4.5–5.2 at 1B.)
func (c *Checkpoint) Quantize(t WeightType, groupSize int, alloc Allocator, progress func(done, total int64)) (*QWeights, error) {
	if c.data == nil {
		return Quantize(c.Config, c.Weights, t, groupSize, alloc, progress)
	}
	return quantize(c.Config, c.Weights, t, groupSize, alloc, progress, c.drop)
}

// drop releases the mapping's whole pages inside s, elements of the mapped weights.
func (c *Checkpoint) drop(s []float32) {
	if len(s) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(&s[0])) - uintptr(unsafe.Pointer(&c.data[0]))
	end := start + 4*uintptr(len(s))
	page := uintptr(syscall.Getpagesize())
	start = (start + page - 1) / page * page
	end = end / page * page
	if start >= end || end > uintptr(len(c.data)) { // less than a page, or not the mapping's
		return
	}
	syscall.Madvise(c.data[start:end], syscall.MADV_DONTNEED) // advice: an error changes nothing
}

// loadChunk is how many bytes Load reads at a time (16 MiB).
const loadChunk = 16 << 20

// Load reads the llama2.c checkpoint at path into memory: one buffer from alloc (make when
// nil) holding everything after the header, which the Weights point into; the buffer is the
// allocator's owner's to free after Close (or after Load fails). It checks the file as Open
// does, and fails if the file shrinks while it is read. The chunks of at most 16 MiB are read
// on GOMAXPROCS goroutines: writing the fresh memory costs a page fault per page, which two
// threads take in parallel (the random 1B checkpoint, 2 cores, in the page cache: 0.25–0.75 s
// instead of 1.0–3.6 on huge pages, 8.6–11 s instead of 14–18 on 4 KiB pages). If progress is
// not nil it is called after every chunk, from the calling goroutine, with the bytes read so
// far and the total.
//
// Nothing refers to the file after Load returns: it may change or vanish without harm.
func Load(path string, alloc Allocator, progress func(done, total int64)) (*Checkpoint, error) {
	return load(path, alloc, progress, loadChunk)
}

func load(path string, alloc Allocator, progress func(done, total int64), chunk int) (*Checkpoint, error) {
	f, h, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := int((h.Size - headerBytes) / 4)
	var floats []float32
	if alloc == nil {
		floats = make([]float32, n)
	} else if floats, err = alloc(n); err != nil {
		return nil, fmt.Errorf("checkpoint %s: allocating %d bytes for the weights: %w", path, 4*int64(n), err)
	} else if len(floats) != n {
		return nil, fmt.Errorf("checkpoint %s: allocator returned %d floats, want %d", path, len(floats), n)
	}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(floats))), 4*n)
	if err := readParts(f, []filePart{{data: buf}}, headerBytes, chunk, h.Size, progress); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return &Checkpoint{Header: h, Weights: slice(h, floats)}, nil
}

// slice points the weights of a checkpoint with header h into floats, the file's contents
// after the header.
func slice(h Header, floats []float32) *Weights {
	w := new(Weights)
	tensors := weightTensors(h.Config, w)
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
	off += int64(h.Config.SeqLen) * int64(h.Config.HeadSize()) // freq_cis_real and freq_cis_imag
	if h.SharedClassifier {
		w.Wcls = w.TokenEmb
	} else {
		take(cls)
	}
	return w
}

// CheckSize reports an error if the file of a mapped checkpoint has become shorter than it
// was when Open mapped it, or, when it is leased, if another program is waiting to write to
// it or truncate it: using the weights then could fault on missing pages. Close the
// checkpoint after an error, to let the other program go on. It costs one or two system
// calls. A loaded (or closed) checkpoint has nothing to check.
func (c *Checkpoint) CheckSize() error {
	if c.file == nil {
		return nil
	}
	if c.leased {
		r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, c.file.Fd(), syscall.F_GETLEASE, 0)
		if errno != 0 {
			return fmt.Errorf("checkpoint %s: checking the file's lease: %w", c.Path, errno)
		}
		if r != syscall.F_RDLCK {
			return fmt.Errorf("checkpoint %s: another program is opening the file for writing or truncating it while it is mapped (-mmap); stopped so that it can go on", c.Path)
		}
	}
	fi, err := c.file.Stat()
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", c.Path, err)
	}
	if size := fi.Size(); size < c.Size {
		return fmt.Errorf("checkpoint %s: the file shrank from %d to %d bytes while it was mapped (-mmap); stopped before reading past its end", c.Path, c.Size, size)
	}
	return nil
}

// parseHeader decodes and validates the seven header fields.
func parseHeader(hdr [headerBytes]byte) (Config, bool, error) {
	var f [7]int64
	for i := range f {
		f[i] = int64(int32(binary.NativeEndian.Uint32(hdr[4*i:])))
	}
	if string(hdr[:4]) == "GGUF" {
		return Config{}, false, errors.New("a GGUF file (llama.cpp's format), not a llama2.c checkpoint: generate reads llama2.c's exports (export.py: the legacy float32 format, or version 2 for q8)")
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
		return Config{}, false, fmt.Errorf("bad header (not a llama2.c checkpoint, or a damaged one): %w", err)
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

// Close unmaps a mapped checkpoint and closes its file, and clears the Weights; closing
// twice does nothing.
func (c *Checkpoint) Close() error {
	*c.Weights = Weights{}
	if c.file == nil {
		return nil
	}
	err := syscall.Munmap(c.data)
	if cerr := c.file.Close(); err == nil {
		err = cerr
	}
	c.data, c.file, c.leased = nil, nil, false
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
	_, err := w.Write(floatBytes(s))
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
