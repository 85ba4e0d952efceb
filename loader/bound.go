package loader

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/simplang/simplang/abi"
)

// A Bound is a call of a function whose arguments were checked and packed once (Func.Bind).
// Each Call runs the kernel on the arrays as they were bound and on the scalars as last Set,
// without checking and packing the arrays again, work that a kernel called once per token
// repeats for nothing (for the 45 arguments of a quantized decode step, about 5 µs a call
// right after the kernel's own call had evicted the caches). The arrays stay
// pinned and reachable until Close; their contents may change between calls. A Bound is
// for one goroutine at a time.
type Bound struct {
	f      *Func
	args   []any    // the bound arguments: the arrays stay reachable
	block  []uint64 // the packed call (Func.pack)
	slots  []int    // each parameter's first value slot in the block
	pin    *runtime.Pinner
	closed bool
}

// Bind checks args against the signature as Call does and packs them, for calls with the
// same arrays (Bound.Call). Close releases the arrays.
func (f *Func) Bind(args ...any) (*Bound, error) {
	b := &Bound{f: f, args: append([]any(nil), args...), pin: new(runtime.Pinner)}
	block, err := f.pack(b.args, b.pin)
	if err != nil {
		b.pin.Unpin()
		return nil, err
	}
	b.block = block
	at := f.cargs + 1 // the value slots follow the argument pointers
	for _, p := range f.sig.Params {
		b.slots = append(b.slots, at)
		if p.Array {
			at += abi.DescriptorFields
		} else {
			at++
		}
	}
	// A Bound dropped without Close must not leave its pins behind (the runtime reports a
	// collected Pinner that still pins).
	runtime.AddCleanup(b, func(pin *runtime.Pinner) { pin.Unpin() }, b.pin)
	return b, nil
}

// Set sets scalar parameter i (counting from 0, in the signature's order) to v, converted
// as Call converts it, for the calls that follow. An array parameter cannot be set: bind
// again.
func (b *Bound) Set(i int, v any) error {
	if i < 0 || i >= len(b.slots) {
		return fmt.Errorf("loader: set argument %d of %v: it has %d parameters", i+1, b.f.sig, len(b.slots))
	}
	p := b.f.sig.Params[i]
	if p.Array {
		return fmt.Errorf("loader: set argument %d (%s) of %v: an array stays as bound; bind again to pass another", i+1, p.Name, b.f.sig)
	}
	var word uint64 // a refused value leaves the slot as it was
	if err := scalar(unsafe.Pointer(&word), v, p.Kind); err != nil {
		return fmt.Errorf("loader: set argument %d (%s) of %v: %v", i+1, p.Name, b.f.sig, err)
	}
	b.block[b.slots[i]] = word
	return nil
}

// Call calls the kernel with the bound arguments and returns its result, as Func.Call.
func (b *Bound) Call() (any, error) {
	if b.closed {
		return nil, fmt.Errorf("loader: call %v: the bound call is closed; bind again", b.f.sig)
	}
	return b.f.invoke(b.block)
}

// Close releases the bound arrays; the Bound cannot be called after it.
func (b *Bound) Close() {
	if !b.closed {
		b.closed = true
		b.pin.Unpin()
	}
}
