package toolchain

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestRemoveLeftovers: a build's files whose process has ended and that are over an hour
// old are removed; those of a running process, those of this one, recent ones and other
// files are kept.
func TestRemoveLeftovers(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	dead, alive, self := strconv.Itoa(ended.Process.Pid), strconv.Itoa(os.Getppid()), strconv.Itoa(os.Getpid())
	old := time.Now().Add(-2 * leftoverAge)
	create := func(name string, mtime time.Time) {
		path := filepath.Join(tmp, name)
		var err error
		if filepath.Ext(name) == "" { // a build directory
			err = os.MkdirAll(filepath.Join(path, "kernel.mlir"), 0o755)
		} else {
			err = os.WriteFile(path, []byte("x"), 0o644)
		}
		if err == nil {
			err = os.Chtimes(path, mtime, mtime)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	gone := []string{"simplang-build-" + dead + "-1", "simplang-" + dead + "-2.so"}
	kept := []string{"simplang-build-" + alive + "-3", "simplang-" + alive + "-4.so", "simplang-build-" + self + "-5",
		"simplang-" + dead + "-6.txt", "simplang-build-x-7", "other-" + dead + "-8"}
	for _, name := range append(append([]string{}, gone...), kept...) {
		create(name, old)
	}
	recent := "simplang-build-" + dead + "-9"
	create(recent, time.Now())
	kept = append(kept, recent)

	removeLeftovers()
	for _, name := range gone {
		if _, err := os.Stat(filepath.Join(tmp, name)); err == nil {
			t.Errorf("%s was kept, want it removed", name)
		}
	}
	for _, name := range kept {
		if _, err := os.Stat(filepath.Join(tmp, name)); err != nil {
			t.Errorf("%s: %v, want it kept", name, err)
		}
	}
}
