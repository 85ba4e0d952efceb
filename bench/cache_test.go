package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLastLevelCache(t *testing.T) {
	write := func(dir, index, level, size string) {
		d := filepath.Join(dir, index)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]string{"level": level + "\n", "size": size + "\n"} {
			if err := os.WriteFile(filepath.Join(d, name), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	zen := t.TempDir()
	write(zen, "index0", "1", "48K") // L1d
	write(zen, "index1", "1", "32K") // L1i
	write(zen, "index3", "3", "32768K")
	write(zen, "index2", "2", "1024K")
	spr := t.TempDir()
	write(spr, "index3", "3", "491520K")
	odd := t.TempDir()
	write(odd, "index0", "1", "48K")
	write(odd, "index3", "3", "lots") // unreadable size: the level below is named
	tests := []struct {
		name, dir, want string
	}{
		{"the highest level, whatever the index order", zen, ", 32 MiB L3"},
		{"Sapphire Rapids' 480 MiB", spr, ", 480 MiB L3"},
		{"a size that does not parse is skipped", odd, ", 0.046875 MiB L1"},
		{"no cache directory", filepath.Join(zen, "missing"), ""},
	}
	for _, tt := range tests {
		if got := lastLevelCache(tt.dir); got != tt.want {
			t.Errorf("%s: lastLevelCache = %q, want %q", tt.name, got, tt.want)
		}
	}
}
