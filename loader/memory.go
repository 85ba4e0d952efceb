package loader

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/simplang/simplang/half"
)

// Elem is a Go type that holds one element of a SimpLang array.
type Elem interface {
	float32 | float64 | int64 | int32 | int16 | int8 | uint64 | uint32 | uint16 | uint8 | half.F16 | half.BF16 | bool
}

// Pages is the size of the pages that Map asks for.
type Pages uint8

// The page sizes.
const (
	HugePages  Pages = iota // transparent huge pages (2 MiB), where the kernel has them
	SmallPages              // the system's base pages (4 KiB), as plain malloc or mmap memory
)

func (p Pages) String() string {
	if p == SmallPages {
		return "4k"
	}
	return "huge"
}

// ParsePages reads a page size as the commands' -pages flag takes it: huge or 4k.
func ParsePages(name string) (Pages, error) {
	switch name {
	case "huge":
		return HugePages, nil
	case "4k":
		return SmallPages, nil
	}
	return 0, fmt.Errorf("unknown page size %q: use huge or 4k", name)
}

// Map returns n zeroed elements in memory outside the Go heap, for buffers too big to
// leave to the garbage collector (model weights). The memory is an anonymous private
// mapping advised to use transparent huge pages, which stream markedly faster through a
// kernel. It can be passed to Call like any slice, and must be released with Unmap.
func Map[T Elem](n int) ([]T, error) { return MapPages[T](n, HugePages) }

// MapPages is Map on pages of the given size: SmallPages advises the kernel against huge
// pages, so that a kernel's speed on ordinary memory can be measured too.
func MapPages[T Elem](n int, pages Pages) ([]T, error) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if n < 0 {
		return nil, fmt.Errorf("loader: Map: cannot map %d %T values: the count is negative", n, zero)
	}
	if n == 0 {
		return []T{}, nil
	}
	var mem []byte
	err := errors.New("more bytes than the address space has")
	if n <= math.MaxInt/size {
		mem, err = syscall.Mmap(-1, 0, n*size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	}
	if err != nil {
		avail := "an unknown amount"
		if a, aerr := AvailableMemory(); aerr == nil {
			avail = byteSize(float64(a))
		}
		return nil, fmt.Errorf("loader: Map: cannot map %s (%d %T values): %v; %s of memory is available",
			byteSize(float64(n)*float64(size)), n, zero, err, avail)
	}
	// The advice only changes speed: a kernel without transparent huge pages rejects it,
	// and the mapping is just as good.
	advice := syscall.MADV_HUGEPAGE
	if pages == SmallPages {
		advice = syscall.MADV_NOHUGEPAGE
	}
	_ = syscall.Madvise(mem, advice)
	populate(mem)
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(mem))), n), nil
}

// madvPopulateWrite is Linux's MADV_POPULATE_WRITE (5.14 on): fault a range in, writable.
const madvPopulateWrite = 23

// populateStep is the least a goroutine of populate takes on (64 MiB).
const populateStep = 64 << 20

// populate faults every page of mem in now, a part of it on each of GOMAXPROCS threads, so
// that the buffer's first writes (a model read into it) do not take a page fault each. On
// this project's 2-core VMs reading the random 1B checkpoint (4 GB) into mapped memory took
// 0.46–1.32 s instead of 1.03–3.59 on huge pages and 11.7–13.8 s instead of 14.3–17.8 on
// 4 KiB pages. The pages are zeroed either way; a kernel without the advice (before 5.14)
// leaves them to be faulted in on first use.
func populate(mem []byte) {
	parts := min(runtime.GOMAXPROCS(0), (len(mem)+populateStep-1)/populateStep)
	var wg sync.WaitGroup
	for i := range parts {
		part := mem[len(mem)*i/parts : len(mem)*(i+1)/parts]
		wg.Go(func() {
			syscall.Syscall(syscall.SYS_MADVISE, uintptr(unsafe.Pointer(unsafe.SliceData(part))), uintptr(len(part)), madvPopulateWrite)
		})
	}
	wg.Wait()
}

// Arena allocates float32 buffers with MapPages and releases them together; its Floats
// method serves as a llama.Allocator.
type Arena struct {
	Pages Pages
	bufs  [][]float32
}

// Floats maps n float32 values.
func (a *Arena) Floats(n int) ([]float32, error) {
	b, err := MapPages[float32](n, a.Pages)
	if err == nil {
		a.bufs = append(a.bufs, b)
	}
	return b, err
}

// Free unmaps every buffer the arena handed out.
func (a *Arena) Free() {
	for _, b := range a.bufs {
		Unmap(b)
	}
	a.bufs = nil
}

// Unmap releases memory that Map returned. s must start where Map's slice started and
// keep its capacity (shortening it with s[:k] is fine); anything else, or a second Unmap,
// is an error. The slice must not be used afterwards.
func Unmap[T Elem](s []T) error {
	if cap(s) == 0 {
		return nil
	}
	var zero T
	mem := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), uintptr(cap(s))*unsafe.Sizeof(zero))
	if err := syscall.Munmap(mem); err != nil {
		return fmt.Errorf("loader: Unmap: %v: the slice was not returned by Map, was resliced from a later start, or was already unmapped", err)
	}
	return nil
}

// Fits reports whether need bytes fit in avail (AvailableMemory): at most 90% of it, leaving
// the rest to the system and the process itself. need is a float64 so that a count too large
// for an integer compares rather than overflows.
func Fits(need float64, avail uint64) bool { return need <= 0.9*float64(avail) }

// AvailableMemory returns how many bytes can be allocated without swapping: MemAvailable
// from /proc/meminfo.
func AvailableMemory() (uint64, error) {
	v, err := readKB("/proc/meminfo", "MemAvailable")
	if err != nil {
		return 0, fmt.Errorf("loader: available memory: %v", err)
	}
	return v[0], nil
}

// ResidentMemory returns how much memory this process holds now and the most it has held,
// in bytes: VmRSS and VmHWM from /proc/self/status.
func ResidentMemory() (rss, peak uint64, err error) {
	v, err := readKB("/proc/self/status", "VmRSS", "VmHWM")
	if err != nil {
		return 0, 0, fmt.Errorf("loader: resident memory: %v", err)
	}
	return v[0], v[1], nil
}

// readKB reads the "key: N kB" lines of a /proc file for every key, in bytes.
func readKB(path string, keys ...string) ([]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v := make([]uint64, len(keys))
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		i := slices.Index(keys, key)
		if !ok || i < 0 {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s line %q: %v", path, sc.Text(), err)
		}
		v[i] = kb * 1024
		found++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if found < len(keys) {
		return nil, fmt.Errorf("%s lacks one of the lines %s (Linux 3.14 or later has them)", path, strings.Join(keys, ", "))
	}
	return v, nil
}

// byteSize renders a byte count for people: 512 B, 12.0 MiB, 1.5 GiB.
func byteSize(n float64) string {
	if n < 1024 {
		return fmt.Sprintf("%.0f B", n)
	}
	unit := 0
	for n /= 1024; n >= 1024 && unit < 5; n /= 1024 {
		unit++
	}
	return fmt.Sprintf("%.1f %ciB", n, "KMGTPE"[unit])
}
