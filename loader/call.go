package loader

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/half"
)

// Func is one function of a Library. It is safe for concurrent use.
type Func struct {
	lib   *Library
	sig   abi.Func
	entry uintptr // the packed entry _mlir_F
	cargs int     // N, the number of expanded C arguments
}

// Signature returns the function's signature as the object's table states it.
func (f *Func) Signature() abi.Func {
	sig := f.sig
	sig.Params = slices.Clone(sig.Params)
	return sig
}

// Call checks args against the signature, calls the kernel and returns its result as the
// Go value of the result kind (float32 for f32, int64 for i64, uint8 for u8, half.F16 for
// f16, bool for bool, …), or nil
// for a function without a result. A wrong number or kind of arguments is an error, and
// then the kernel is not called.
func (f *Func) Call(args ...any) (any, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	block, err := f.pack(args, &pin)
	if err != nil {
		return nil, err
	}
	return f.invoke(block)
}

// pack checks args against the signature and returns the packed block of the call, pinned
// with pin: N+1 argument pointers followed by N+1 value slots (the last is the result). It
// keeps addresses as integers, so it holds no Go pointers for the GC to trace; it is pinned,
// as are the slices, so that those addresses stay valid.
func (f *Func) pack(args []any, pin *runtime.Pinner) ([]uint64, error) {
	if len(args) != len(f.sig.Params) {
		return nil, fmt.Errorf("loader: call %v: got %d arguments, the kernel takes %d", f.sig, len(args), len(f.sig.Params))
	}
	n := f.cargs
	block := make([]uint64, 2*(n+1))
	ptrs, slots := block[:n+1], block[n+1:]
	pin.Pin(&block[0])

	i := 0
	for j, p := range f.sig.Params {
		var err error
		if p.Array {
			err = descriptor(slots[i:i+abi.DescriptorFields], pin, args[j], p.Kind)
			i += abi.DescriptorFields
		} else {
			err = scalar(unsafe.Pointer(&slots[i]), args[j], p.Kind)
			i++
		}
		if err != nil {
			return nil, fmt.Errorf("loader: call %v: argument %d (%s) %v", f.sig, j+1, p.Name, err)
		}
	}
	if err := f.checkOverlap(slots); err != nil {
		return nil, err
	}
	for k := range ptrs {
		ptrs[k] = uint64(uintptr(unsafe.Pointer(&slots[k])))
	}
	return block, nil
}

// invoke calls the kernel with a packed block (pack) and returns its result.
func (f *Func) invoke(block []uint64) (any, error) {
	f.lib.mu.RLock()
	defer f.lib.mu.RUnlock()
	if f.lib.handle == 0 {
		return nil, fmt.Errorf("loader: call %v: %s is closed", f.sig, f.lib.path)
	}
	// The thread count and the report of a failed check are per OS thread: the calls around
	// the kernel's must run on its thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if t := f.lib.threads.Load(); t > 0 {
		purego.SyscallN(f.lib.setThreads, uintptr(t))
	}
	if failed, _, _ := purego.SyscallN(f.entry, uintptr(unsafe.Pointer(&block[0]))); uint32(failed) != 0 {
		return nil, f.lib.takeError(f.sig.Name)
	}
	return result(unsafe.Pointer(&block[2*f.cargs+1]), f.sig.Result), nil
}

// CheckError is a check that failed during a call of checked code (language §4.1): an array
// index out of range, or an integer division by zero. The call ran to its end without
// performing that access.
type CheckError struct {
	Func  string   // the function called
	Site  abi.Site // where the check is in the source
	Index int64    // the index (0 for a division)
	Size  int64    // the size it was checked against (0 for a division)
}

func (e *CheckError) Error() string { return e.Site.Message(e.Index, e.Size) }

// takeError reads the calling thread's report of the first failed check.
func (l *Library) takeError(fn string) error {
	report := new(struct { // simplang_error
		site        int32
		index, size int64
	})
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(report)
	if taken, _, _ := purego.SyscallN(l.takeErrorFn, uintptr(unsafe.Pointer(report))); uint32(taken) == 0 {
		return fmt.Errorf("loader: call %s: the kernel reported a failed check but kept no report; rebuild %s with this version of simpc", fn, l.path)
	}
	if report.site < 0 || int(report.site) >= len(l.sites) {
		return fmt.Errorf("loader: call %s: a check failed at site %d, which %s's site table lacks (index %d, size %d)", fn, report.site, l.path, report.index, report.size)
	}
	return &CheckError{Func: fn, Site: l.sites[report.site], Index: report.index, Size: report.size}
}

// checkOverlap refuses array arguments that share memory when the kernel writes one of them:
// the compiled code assumes they do not (language §6). slots holds the expanded arguments.
func (f *Func) checkOverlap(slots []uint64) error {
	type span struct {
		param      abi.Param
		start, end uint64
	}
	var spans []span
	i := 0
	for _, p := range f.sig.Params {
		if !p.Array {
			i++
			continue
		}
		// aligned and size of the descriptor
		start, n := slots[i+1], slots[i+3]
		if n > 0 {
			spans = append(spans, span{p, start, start + n*uint64(p.Kind.Size())})
		}
		i += abi.DescriptorFields
	}
	for a := range spans {
		for b := a + 1; b < len(spans); b++ {
			x, y := spans[a], spans[b]
			if (x.param.Written || y.param.Written) && x.start < y.end && y.start < x.end {
				written := x.param.Name
				if !x.param.Written {
					written = y.param.Name
				}
				return fmt.Errorf("loader: call %v: arguments %s and %s share memory and %s writes %s; pass slices that do not overlap (language §6)",
					f.sig, x.param.Name, y.param.Name, f.sig.Name, written)
			}
		}
	}
	return nil
}

// descriptor fills the five descriptor fields of an array argument of element kind k
// and pins the slice. An empty slice passes a nil pointer.
func descriptor(fields []uint64, pin *runtime.Pinner, v any, k abi.Kind) error {
	var data unsafe.Pointer
	var size int
	var ok bool
	switch k {
	case abi.F32:
		data, size, ok = sliceOf[float32](v)
	case abi.F64:
		data, size, ok = sliceOf[float64](v)
	case abi.I64:
		data, size, ok = sliceOf[int64](v)
	case abi.I32:
		data, size, ok = sliceOf[int32](v)
	case abi.I16:
		data, size, ok = sliceOf[int16](v)
	case abi.I8:
		data, size, ok = sliceOf[int8](v)
	case abi.U64:
		data, size, ok = sliceOf[uint64](v)
	case abi.U32:
		data, size, ok = sliceOf[uint32](v)
	case abi.U16:
		data, size, ok = sliceOf[uint16](v)
	case abi.U8:
		data, size, ok = sliceOf[uint8](v)
	case abi.F16:
		if data, size, ok = sliceOf[half.F16](v); !ok {
			data, size, ok = sliceOf[uint16](v)
		}
	case abi.BF16:
		if data, size, ok = sliceOf[half.BF16](v); !ok {
			data, size, ok = sliceOf[uint16](v)
		}
	case abi.Bool:
		data, size, ok = sliceOf[bool](v)
	}
	if !ok {
		return mismatch(v, k.String()+"[]", "[]"+goNames[k])
	}
	if data != nil {
		pin.Pin(data)
	}
	addr := uint64(uintptr(data))
	// allocated, aligned, offset, size, stride
	fields[0], fields[1], fields[2], fields[3], fields[4] = addr, addr, 0, uint64(size), 1
	return nil
}

// sliceOf returns the data pointer (nil when empty) and length of v if it is a []T.
func sliceOf[T Elem](v any) (unsafe.Pointer, int, bool) {
	s, ok := v.([]T)
	if !ok || len(s) == 0 {
		return nil, 0, ok
	}
	return unsafe.Pointer(unsafe.SliceData(s)), len(s), true
}

// scalar stores a scalar argument of kind k into the 8-byte slot at p with the width the
// kernel loads, so the slot is right on either byte order.
func scalar(p unsafe.Pointer, v any, k abi.Kind) error {
	if i, ok := v.(int); ok && k.IsInt() {
		return storeInt(p, int64(i), k)
	}
	ok := true
	switch k {
	case abi.F32:
		*(*float32)(p), ok = v.(float32)
	case abi.F64:
		*(*float64)(p), ok = v.(float64)
	case abi.I64:
		*(*int64)(p), ok = v.(int64)
	case abi.I32:
		*(*int32)(p), ok = v.(int32)
	case abi.I16:
		*(*int16)(p), ok = v.(int16)
	case abi.I8:
		*(*int8)(p), ok = v.(int8)
	case abi.U64:
		*(*uint64)(p), ok = v.(uint64)
	case abi.U32:
		*(*uint32)(p), ok = v.(uint32)
	case abi.U16:
		*(*uint16)(p), ok = v.(uint16)
	case abi.U8:
		*(*uint8)(p), ok = v.(uint8)
	case abi.F16:
		*(*half.F16)(p), ok = v.(half.F16)
	case abi.BF16:
		*(*half.BF16)(p), ok = v.(half.BF16)
	case abi.Bool:
		*(*bool)(p), ok = v.(bool)
	}
	if bits, isBits := v.(uint16); isBits && k.IsHalf() {
		*(*uint16)(p), ok = bits, true
	}
	if !ok {
		return mismatch(v, k.String(), goNames[k])
	}
	return nil
}

// storeInt stores a Go int given for an integer parameter, if it fits the kind.
func storeInt(p unsafe.Pointer, i int64, k abi.Kind) error {
	bits := 8 * k.Size()
	lo, hi := int64(-1)<<(bits-1), uint64(1)<<(bits-1)-1
	if k.IsUnsigned() {
		lo, hi = 0, 1<<bits-1
	}
	if i < lo || i >= 0 && uint64(i) > hi {
		return fmt.Errorf("is %d, out of range for %v", i, k)
	}
	switch bits {
	case 64:
		*(*int64)(p) = i
	case 32:
		*(*int32)(p) = int32(i)
	case 16:
		*(*int16)(p) = int16(i)
	case 8:
		*(*int8)(p) = int8(i)
	}
	return nil
}

// goNames are the Go types that carry each kind.
var goNames = [...]string{abi.Bool: "bool", abi.I8: "int8", abi.I16: "int16", abi.I32: "int32",
	abi.I64: "int64", abi.F32: "float32", abi.F64: "float64", abi.U8: "uint8", abi.U16: "uint16",
	abi.U32: "uint32", abi.U64: "uint64", abi.F16: "half.F16 (or its uint16 bits)", abi.BF16: "half.BF16 (or its uint16 bits)"}

func mismatch(v any, want, goType string) error {
	got := "nil"
	if v != nil {
		got = fmt.Sprintf("%T", v)
	}
	article := "a"
	if strings.HasPrefix(goType, "int") {
		article = "an"
	}
	return fmt.Errorf("is %s; the kernel takes %s (pass %s %s)", got, want, article, goType)
}

// result reads the result slot at p as the Go value of kind k.
func result(p unsafe.Pointer, k abi.Kind) any {
	switch k {
	case abi.F32:
		return *(*float32)(p)
	case abi.F64:
		return *(*float64)(p)
	case abi.I64:
		return *(*int64)(p)
	case abi.I32:
		return *(*int32)(p)
	case abi.I16:
		return *(*int16)(p)
	case abi.I8:
		return *(*int8)(p)
	case abi.U64:
		return *(*uint64)(p)
	case abi.U32:
		return *(*uint32)(p)
	case abi.U16:
		return *(*uint16)(p)
	case abi.U8:
		return *(*uint8)(p)
	case abi.F16:
		return *(*half.F16)(p)
	case abi.BF16:
		return *(*half.BF16)(p)
	case abi.Bool:
		// An i1 store writes 0 or 1; reading a byte keeps any other value a valid bool.
		return *(*uint8)(p) != 0
	}
	return nil
}
