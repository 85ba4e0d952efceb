package toolchain

import (
	"maps"
	"strings"
	"testing"
)

// TestCPUInfo reads the asked fields of the first processor only, past a flags line longer
// than bufio's default token, and leaves out the fields it does not have.
func TestCPUInfo(t *testing.T) {
	flags := strings.Repeat("avx512f ", 10000)
	text := "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nflags\t\t: " + flags + "\nmodel name\t: AMD EPYC\n\n" +
		"processor\t: 1\nvendor_id\t: Other\nbogomips\t: 1\n"
	got := cpuInfo(strings.NewReader(text), []string{"vendor_id", "cpu family", "model name", "flags", "bogomips"})
	want := map[string]string{"vendor_id": "AuthenticAMD", "cpu family": "26", "model name": "AMD EPYC", "flags": strings.TrimSpace(flags)}
	if !maps.Equal(got, want) {
		t.Errorf("cpuInfo: %q, want %q", got, want)
	}
}
