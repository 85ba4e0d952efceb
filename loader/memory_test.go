package loader

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

func TestMapAsArgument(t *testing.T) {
	lib := open(t, "kernels")
	const n = 1 << 20 // 4 MiB: two huge pages
	a, err := Map[float32](n)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Map[float32](n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != 0 || b[i] != 0 {
			t.Fatalf("Map's memory is not zeroed at %d: %v, %v", i, a[i], b[i])
		}
		a[i], b[i] = float32(i%7), float32(i%5)-2
	}
	got, err := fn(t, lib, "dot").Call(a, b, n)
	if err != nil {
		t.Fatal(err)
	}
	if want := dotGo(a, b); got != want {
		t.Errorf("dot of mapped buffers = %v, want %v", got, want)
	}
	if _, err := fn(t, lib, "scale").Call(a, float32(-1), n); err != nil {
		t.Fatal(err)
	}
	if a[6] != -6 {
		t.Errorf("after scale(a, -1), a[6] = %v, want -6", a[6])
	}
	if err := Unmap(a[:10]); err != nil { // shortened is fine
		t.Error(err)
	}
	if err := Unmap(b); err != nil {
		t.Error(err)
	}
	if err := Unmap(b); err == nil {
		t.Error("a second Unmap of the same slice succeeded")
	}
}

func TestMapKinds(t *testing.T) {
	check := func(name string, length, wantLen int, err error, unmap func() error) {
		t.Helper()
		if err != nil {
			t.Fatalf("Map[%s]: %v", name, err)
		}
		if length != wantLen {
			t.Errorf("Map[%s] returned %d elements, want %d", name, length, wantLen)
		}
		if err := unmap(); err != nil {
			t.Errorf("Unmap[%s]: %v", name, err)
		}
	}
	f64, err := Map[float64](3)
	check("float64", len(f64), 3, err, func() error { return Unmap(f64) })
	i16, err := Map[int16](5000)
	check("int16", len(i16), 5000, err, func() error { return Unmap(i16) })
	bools, err := Map[bool](1)
	check("bool", len(bools), 1, err, func() error { return Unmap(bools) })
	none, err := Map[int8](0)
	check("int8", len(none), 0, err, func() error { return Unmap(none) })
}

func TestMapErrors(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want []string
	}{
		{"negative", -1, []string{"cannot map -1 float64 values: the count is negative"}},
		// More than the address space, but still a valid int.
		{"too big", 1 << 46, []string{"cannot map 512.0 TiB (70368744177664 float64 values)", "of memory is available"}},
		{"overflows int", 1 << 61, []string{"cannot map 16.0 EiB", "more bytes than the address space has", "of memory is available"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Map[float64](tt.n)
			if err == nil {
				Unmap(s)
				t.Fatalf("Map(%d) succeeded", tt.n)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Map(%d) = %q, want it to contain %q", tt.n, err, w)
				}
			}
		})
	}

	if err := Unmap(make([]float32, 10)); err == nil || !strings.Contains(err.Error(), "not returned by Map") {
		t.Errorf("Unmap of a Go slice = %v, want an error saying it was not returned by Map", err)
	}
	s, err := Map[int32](1024)
	if err != nil {
		t.Fatal(err)
	}
	if err := Unmap(s[1:]); err == nil {
		t.Error("Unmap of a slice that starts after Map's succeeded")
	}
	if err := Unmap(s); err != nil {
		t.Error(err)
	}
}

func TestAvailableMemory(t *testing.T) {
	avail, err := AvailableMemory()
	if err != nil {
		t.Fatal(err)
	}
	if avail < 1<<20 || avail > 1<<50 {
		t.Errorf("AvailableMemory() = %d bytes, which is not plausible", avail)
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		n    float64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536 << 20, "1.5 GiB"},
		{1 << 62, "4.0 EiB"},
	}
	for _, tt := range tests {
		if got := byteSize(tt.n); got != tt.want {
			t.Errorf("byteSize(%v) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestResidentMemory(t *testing.T) {
	rss, peak, err := ResidentMemory()
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 || peak < rss {
		t.Errorf("ResidentMemory() = %d, %d bytes, want at least 1 MiB and peak ≥ resident", rss, peak)
	}
	const n = 64 << 20
	buf, err := Map[int8](n)
	if err != nil {
		t.Fatal(err)
	}
	defer Unmap(buf)
	for i := 0; i < n; i += 4096 {
		buf[i] = 1
	}
	after, _, err := ResidentMemory()
	if err != nil {
		t.Fatal(err)
	}
	if after < rss+n/2 {
		t.Errorf("resident memory went from %d to %d bytes after touching %d", rss, after, n)
	}
}

// TestMapPopulates: the pages of a mapping are resident before anything touches them, on
// both page sizes (populate; Linux 5.14 or later).
func TestMapPopulates(t *testing.T) {
	for _, pages := range []Pages{HugePages, SmallPages} {
		before, _, err := ResidentMemory()
		if err != nil {
			t.Fatal(err)
		}
		const n = 64 << 20
		buf, err := MapPages[int8](n, pages)
		if err != nil {
			t.Fatal(err)
		}
		after, _, err := ResidentMemory()
		Unmap(buf)
		if err != nil {
			t.Fatal(err)
		}
		if after < before+n*9/10 {
			t.Errorf("%v pages: resident memory went from %d to %d bytes on mapping %d, want them all resident", pages, before, after, n)
		}
	}
}

// TestArena: an arena's buffers are zeroed, writable, on the pages asked for (the kernel's
// smaps says whether huge pages may back them), and released together.
func TestArena(t *testing.T) {
	for _, pages := range []Pages{HugePages, SmallPages} {
		a := Arena{Pages: pages}
		b, err := a.Floats(1 << 20)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != 0 || b[len(b)-1] != 0 {
			t.Errorf("%v: not zeroed", pages)
		}
		b[len(b)-1] = 1
		smaps, err := os.ReadFile("/proc/self/smaps")
		if err != nil {
			t.Fatal(err)
		}
		start := fmt.Sprintf("%x-", uintptr(unsafe.Pointer(&b[0])))
		i := strings.Index(string(smaps), start)
		if i < 0 {
			t.Fatalf("%v: the mapping at %s is not in /proc/self/smaps", pages, start)
		}
		entry := string(smaps[i:])
		if j := strings.Index(entry, "\nVmFlags:"); j >= 0 {
			if k := strings.IndexByte(entry[j+1:], '\n'); k >= 0 {
				entry = entry[:j+1+k]
			}
		}
		if hasNH := strings.Contains(entry, " nh"); hasNH != (pages == SmallPages) {
			t.Errorf("%v: VmFlags nh (no huge pages) is %v:\n%s", pages, hasNH, entry)
		}
		a.Free()
		if len(a.bufs) != 0 {
			t.Errorf("%v: Free kept %d buffers", pages, len(a.bufs))
		}
	}
	for name, want := range map[string]Pages{"huge": HugePages, "4k": SmallPages} {
		if got, err := ParsePages(name); err != nil || got != want || got.String() != name {
			t.Errorf("ParsePages(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := ParsePages("2m"); err == nil {
		t.Error("ParsePages(2m) accepted")
	}
}
