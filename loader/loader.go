// Package loader opens a shared object compiled by simpc and calls its kernels with Go
// values, without cgo: the object is loaded with dlopen through github.com/ebitengine/purego,
// each call is checked against the object's signature table (package abi) before anything
// runs, and goes through the kernel's packed entry _mlir_F (language §6).
//
//	lib, err := loader.Open("dot.so")
//	if err != nil { … }
//	defer lib.Close()
//	dot, err := lib.Func("dot")
//	r, err := dot.Call(a, b, len(a)) // a, b []float32; r is a float32
//
// Arguments are Go values of the parameter's exact kind: a slice ([]float32, []float64,
// []int64, []int32, []int16, []int8, []uint64, []uint32, []uint16, []uint8, []bool) for an
// array, a float32, float64, int64, int32, int16, int8, uint64, uint32, uint16, uint8 or
// bool for a scalar, and additionally a plain int for any integer kind if it fits. Nothing
// converts implicitly otherwise: a float64 is not an f32, an int64 not a u64.
//
// Half precision: an f16[] or bf16[] parameter takes a []half.F16 or []half.BF16 (package
// half: the 16 bits with exact conversions to float32 and round-to-nearest-even conversions
// from it), or the raw bits as a []uint16; an f16 or bf16 scalar takes a half.F16 or
// half.BF16, or a uint16. An f16 or bf16 result comes back as a half.F16 or half.BF16.
//
// Memory rule: an array argument is passed by reference, so the kernel reads and writes
// the slice's backing array in place. For the duration of a call the loader pins every
// slice with runtime.Pinner, so the garbage collector neither moves nor frees it, and the
// packed argument block is itself pinned and holds addresses only as integers. Nothing
// stays pinned after Call returns: a kernel must not keep a pointer to its arguments.
// Big buffers can live outside the Go heap altogether: see Map.
//
// The package works on Linux, where simpc's objects and /proc/meminfo live.
package loader

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/simplang/simplang/abi"
)

// Library is an opened shared object. Its methods are safe for concurrent use.
type Library struct {
	path   string
	funcs  []abi.Func
	byName map[string]*Func

	mu     sync.RWMutex // held for reading by every call, so Close waits for calls in flight
	handle uintptr      // 0 once closed

	setThreads uintptr      // omp_set_num_threads, or 0 when the object does not use OpenMP
	threads    atomic.Int32 // the count SetThreads chose; 0 leaves OpenMP's default

	sites       []abi.Site // where the object's checks are (language §4.1)
	takeErrorFn uintptr    // abi.TakeErrorSymbol

	tracer tracer // the recorder of parallel loops (trace.go)
}

// Open loads the shared object at path (relative paths are relative to the working
// directory, not the library search path) and reads its signature table.
func Open(path string) (*Library, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("loader: open %s: %v", path, err)
	}
	// RTLD_NOW reports a missing dependency here rather than at the first call.
	handle, err := purego.Dlopen(abs, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		// dlerror starts with the path, which the message already names.
		reason := strings.TrimPrefix(err.Error(), abs+": ")
		return nil, fmt.Errorf("loader: open %s: %s; %s", path, reason, openAdvice(abs))
	}
	lib, err := newLibrary(path, handle)
	if err != nil {
		purego.Dlclose(handle)
		return nil, err
	}
	return lib, nil
}

func newLibrary(path string, handle uintptr) (*Library, error) {
	table, err := purego.Dlsym(handle, abi.TableSymbol)
	if err != nil {
		return nil, fmt.Errorf("loader: %s has no %s table: it was not built by simpc; build it with \"simpc FILE.sl -o %s\"",
			path, abi.TableSymbol, path)
	}
	funcs, err := abi.Decode(cString(table))
	if err != nil {
		return nil, fmt.Errorf("loader: %s: %v; rebuild it with this version of simpc", path, err)
	}
	lib := &Library{path: path, funcs: funcs, byName: make(map[string]*Func, len(funcs)), handle: handle}
	for _, sig := range funcs {
		entry, err := purego.Dlsym(handle, abi.PackedName(sig.Name))
		if err != nil {
			return nil, fmt.Errorf("loader: %s lists %s in its signature table but does not export %s; rebuild it with simpc",
				path, sig.Name, abi.PackedName(sig.Name))
		}
		lib.byName[sig.Name] = &Func{lib: lib, sig: sig, entry: entry, cargs: sig.CArgs()}
	}
	sites, err := purego.Dlsym(handle, abi.SitesSymbol)
	if err == nil {
		lib.takeErrorFn, err = purego.Dlsym(handle, abi.TakeErrorSymbol)
	}
	if err != nil {
		return nil, fmt.Errorf("loader: %s has no %s or %s: it was built by an older simpc; rebuild it with \"simpc FILE.sl -o %s\"",
			path, abi.SitesSymbol, abi.TakeErrorSymbol, path)
	}
	if lib.sites, err = abi.DecodeSites(cString(sites)); err != nil {
		return nil, fmt.Errorf("loader: %s: %v; rebuild it with this version of simpc", path, err)
	}
	// dlsym on the handle searches the object and its dependencies only, so this finds
	// libomp exactly when the object links it.
	lib.setThreads, _ = purego.Dlsym(handle, "omp_set_num_threads")
	lib.tracer.find(handle)
	return lib, nil
}

// cString copies the NUL-terminated string at addr, which lives in the loaded object.
func cString(addr uintptr) string {
	// Converting through a pointer keeps go vet's unsafeptr check quiet about an address
	// that the Go runtime does not manage.
	p := *(*unsafe.Pointer)(unsafe.Pointer(&addr))
	n := 0
	for *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(p), n))
}

// machines maps GOARCH to the ELF machine of objects this process can load.
var machines = map[string]elf.Machine{
	"386": elf.EM_386, "amd64": elf.EM_X86_64, "arm": elf.EM_ARM, "arm64": elf.EM_AARCH64,
	"loong64": elf.EM_LOONGARCH, "ppc64le": elf.EM_PPC64, "riscv64": elf.EM_RISCV, "s390x": elf.EM_S390,
}

// openAdvice says what to do about a file dlopen refused, after looking at it.
func openAdvice(path string) string {
	if _, err := os.Stat(path); err != nil {
		return "check the path, or build the object with \"simpc FILE.sl -o FILE.so\""
	}
	f, err := elf.Open(path)
	if err != nil {
		return "the file is not a shared object (not ELF); build one with \"simpc FILE.sl -o FILE.so\""
	}
	defer f.Close()
	if want, ok := machines[runtime.GOARCH]; ok && f.Machine != want {
		return fmt.Sprintf("it was built for %v but this program runs on %s; rebuild it on this machine", f.Machine, runtime.GOARCH)
	}
	if f.Type != elf.ET_DYN {
		return fmt.Sprintf("it is an ELF %v, not a shared object; build one with \"simpc FILE.sl -o FILE.so\"", f.Type)
	}
	return "a library it needs is probably missing (ldd shows which); libomp and the LLVM 19 tools come with scripts/install-toolchain.sh"
}

// Close unloads the object once the calls in flight have returned. Calls after Close fail.
func (l *Library) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.handle == 0 {
		return fmt.Errorf("loader: %s is already closed", l.path)
	}
	err := purego.Dlclose(l.handle)
	l.handle = 0
	if err != nil {
		return fmt.Errorf("loader: close %s: %v", l.path, err)
	}
	return nil
}

// Functions returns the signatures of the object's functions, in table order.
func (l *Library) Functions() []abi.Func {
	funcs := slices.Clone(l.funcs)
	for i := range funcs {
		funcs[i].Params = slices.Clone(funcs[i].Params)
	}
	return funcs
}

// Func returns the function called name.
func (l *Library) Func(name string) (*Func, error) {
	if f, ok := l.byName[name]; ok {
		return f, nil
	}
	names := make([]string, 0, len(l.funcs))
	for _, f := range l.funcs {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	exports := "none"
	if len(names) > 0 {
		exports = strings.Join(names, ", ")
	}
	return nil, fmt.Errorf("loader: %s has no function %q; it exports %s", l.path, name, exports)
}

// OpenMP reports whether the object runs its parallel loops on OpenMP (it links libomp).
func (l *Library) OpenMP() bool { return l.setThreads != 0 }

// SetThreads sets how many threads the object's parallel loops use from now on. For an
// object without OpenMP every count is accepted and changes nothing: its loops run on the
// calling thread.
//
// OpenMP keeps the count per OS thread, and a goroutine may run on any of them, so the
// count is applied (omp_set_num_threads) on the calling thread right before every call.
// Each OS thread that calls into OpenMP gets its own pool of workers: a program that
// cares about thread counts should call kernels from one goroutine locked to its thread.
func (l *Library) SetThreads(n int) error {
	if n < 1 || n > 1<<16 {
		return fmt.Errorf("loader: SetThreads(%d): the thread count must be between 1 and 65536", n)
	}
	if l.setThreads != 0 {
		l.threads.Store(int32(n))
	}
	return nil
}
