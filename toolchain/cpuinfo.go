package toolchain

import (
	"bufio"
	"io"
	"os"
	"slices"
	"strings"
)

// CPUInfo returns the values of keys ("model name", "flags", "vendor_id", …) in
// /proc/cpuinfo's first processor. Keys it does not have are absent, as is everything where
// the file cannot be read.
func CPUInfo(keys ...string) map[string]string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return map[string]string{}
	}
	defer f.Close()
	return cpuInfo(f, keys)
}

// cpuInfo reads keys from the first processor's lines of cpuinfo, up to the blank line that
// ends them.
func cpuInfo(cpuinfo io.Reader, keys []string) map[string]string {
	found := map[string]string{}
	sc := bufio.NewScanner(cpuinfo)
	sc.Buffer(make([]byte, 64<<10), 1<<20) // the flags line is long
	for sc.Scan() && sc.Text() != "" && len(found) < len(keys) {
		key, val, _ := strings.Cut(sc.Text(), ":")
		if k := strings.TrimSpace(key); slices.Contains(keys, k) {
			found[k] = strings.TrimSpace(val)
		}
	}
	return found
}
